"""The exports of the shop platforms merchants use, recognised by their columns and read as catalog tables.

Column names as the platforms write them (checked against their documentation):

- Shopify product export: `Handle, Title, ..., Variant SKU, ..., Variant Inventory Qty, ..., Variant Price,
  Variant Compare At Price, ..., Cost per item, Status` (the 2024 layout: `URL handle, SKU, Price,
  Compare-at price, Inventory quantity, Cost per item`). One row per variant; image-only rows carry no
  SKU and no price and are dropped; a variant row repeats no `Title`, so it takes its product's.
- Shopify orders export: `Name` (the order), `Financial Status, Paid at, ..., Created at, Lineitem quantity,
  Lineitem name, Lineitem price, ..., Lineitem sku, ..., Lineitem discount, ..., Cancelled at`; one row per
  line item, order fields only on an order's first row.
- WooCommerce product export: `ID, Type, SKU, Name, Published, Is featured?, Visibility in catalog, ...,
  In stock?, Stock, ..., Sale price, Regular price, ...`; the cost comes from a plugin or WooCommerce's
  own cost of goods (`Cost of goods`, `Meta: _wc_cog_cost`). The price now is the sale price when one is
  set; `variable` and `grouped` rows are containers whose variations carry the prices.
- WooCommerce order exports, one row per item: `order_number, order_date, status, ..., item_sku,
  item_quantity, item_total` (Customer/Order/Coupon Export) or `Order Number, Order Date, Order Status,
  SKU, Quantity, Item Cost` (Advanced Order Export).
- Amazon Seller Central: the (active / all) listings report, tab-separated: `item-name, listing-id,
  seller-sku, price, quantity, open-date, ..., asin1, ..., fulfillment-channel` (no cost: sellers add a
  column, read by the ordinary aliases, or map one); the business report by child item: `(Parent) ASIN,
  (Child) ASIN, Title, SKU, Sessions - Total, ..., Units Ordered, Ordered Product Sales, Total Order Items`
  (sales history once a `Date` column says which period each row is).
- Etsy listings download: `TITLE, DESCRIPTION, PRICE, CURRENCY_CODE, QUANTITY, TAGS, MATERIALS, IMAGE1..10,
  VARIATION 1 TYPE, ..., SKU`; `QUANTITY` is stock, not units sold; no cost (as on Amazon).

A platform is recognised by at least two of its signature columns; a table that matches two platforms
is an error (which columns mean what cannot be known), and a table already in the catalog's own columns
is never re-read as a platform's. Orders and sales reports become weekly sales history (`orders`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from agent.catalog.schema import HISTORY_REQUIRED, PRODUCT_REQUIRED, normalize_name

# statuses of orders that sold nothing (lower case; WooCommerce's may carry a `wc-` prefix)
VOID_STATUSES = frozenset({"cancelled", "canceled", "refunded", "voided", "failed", "trash", "draft",
                           "checkout-draft"})


@dataclass(frozen=True)
class Platform:
    """How one platform's export maps onto the catalog's columns.

    `columns`: (target, the platform's names for it, first present first); for a product export the
    targets are catalog columns plus `group` (rows of one product) and `type`; for an order export they
    are `sku`, `date`, `units`, `price` or `revenue` (a line's total), `discount`, `status`, `cancelled`
    and `order`, which `orders.weekly_history` sums up. Every name is matched normalised.
    """

    key: str
    label: str
    signature: tuple[str, ...]
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    orders: bool = False  # one row per sold line: summed into weekly history
    keep_if_any: tuple[str, ...] = ()  # a row where all of these targets are empty is dropped
    drop_types: tuple[str, ...] = ()  # rows whose `type` is one of these are dropped
    fill_down: tuple[str, ...] = ()  # targets a row leaves empty take the value of its group's row above

    @property
    def a_label(self) -> str:
        """The label with its article ("an Amazon listings report")."""
        return ("an " if self.label[0].lower() in "aeiou" else "a ") + self.label

    def names(self, target: str) -> tuple[str, ...]:
        return dict(self.columns).get(target, ())

    def matches(self, present: Collection[str]) -> list[str]:
        """The signature columns `present` (normalised names) holds."""
        return [s for s in self.signature if normalize_name(s) in present]


SHOPIFY_PRODUCTS = Platform(
    "shopify_products", "Shopify product export",
    signature=("Handle", "URL handle", "Body (HTML)", "Variant SKU", "Variant Price", "Variant Compare At Price",
               "Variant Inventory Qty", "Variant Grams", "Variant Inventory Policy", "Variant Fulfillment Service",
               "Cost per item", "Compare-at price", "Option1 Name", "Gift Card", "SEO Title"),
    columns=(("sku", ("Variant SKU", "SKU")), ("name", ("Title",)), ("unit_cost", ("Cost per item",)),
             ("current_price", ("Variant Price", "Price")), ("inventory", ("Variant Inventory Qty",
                                                                           "Inventory quantity")),
             ("group", ("Handle", "URL handle"))),
    keep_if_any=("sku", "current_price"), fill_down=("name",))

WOOCOMMERCE_PRODUCTS = Platform(
    "woocommerce_products", "WooCommerce product export",
    signature=("Regular price", "Sale price", "In stock?", "Visibility in catalog", "Is featured?", "Tax status",
               "Tax class", "Backorders allowed?", "Sold individually?", "Date sale price starts",
               "Allow customer reviews?", "Meta: _wc_cog_cost"),
    columns=(("sku", ("SKU",)), ("name", ("Name",)),
             ("unit_cost", ("Cost of goods", "Cost of goods sold", "COGS", "Meta: _wc_cog_cost", "_wc_cog_cost",
                            "Cost")),
             ("current_price", ("Sale price", "Regular price")), ("inventory", ("Stock",)), ("type", ("Type",))),
    drop_types=("variable", "grouped"))

AMAZON_LISTINGS = Platform(
    "amazon_listings", "Amazon listings report",
    signature=("seller-sku", "item-name", "listing-id", "asin1", "product-id", "product-id-type", "open-date",
               "fulfillment-channel", "item-condition", "item-description", "item-is-marketplace"),
    columns=(("sku", ("seller-sku", "sku")), ("name", ("item-name",)), ("current_price", ("price",)),
             ("inventory", ("quantity", "quantity-available"))),
    keep_if_any=("sku",))

AMAZON_BUSINESS_REPORT = Platform(
    "amazon_business_report", "Amazon business report (sales by SKU)",
    signature=("(Parent) ASIN", "(Child) ASIN", "Units Ordered", "Ordered Product Sales", "Sessions - Total",
               "Total Order Items", "Page Views - Total", "Featured Offer (Buy Box) Percentage", "Sessions",
               "Buy Box Percentage", "Unit Session Percentage"),
    columns=(("sku", ("SKU",)), ("date", ("Date", "Week", "Start date", "Period")), ("units", ("Units Ordered",)),
             ("revenue", ("Ordered Product Sales",))),
    orders=True)

ETSY_LISTINGS = Platform(
    "etsy_listings", "Etsy listings download",
    signature=("CURRENCY_CODE", "MATERIALS", "IMAGE1", "VARIATION 1 TYPE", "VARIATION 1 NAME", "VARIATION 1 VALUES",
               "TAGS"),
    columns=(("sku", ("SKU",)), ("name", ("TITLE",)), ("current_price", ("PRICE",)), ("inventory", ("QUANTITY",))),
    keep_if_any=("sku",))

SHOPIFY_ORDERS = Platform(
    "shopify_orders", "Shopify orders export",
    signature=("Lineitem sku", "Lineitem quantity", "Lineitem price", "Lineitem name", "Lineitem discount",
               "Lineitem compare at price", "Lineitem fulfillment status", "Financial Status", "Fulfillment Status",
               "Paid at", "Fulfilled at", "Billing Name", "Shipping Method"),
    columns=(("order", ("Name", "Id")), ("date", ("Created at", "Paid at")), ("sku", ("Lineitem sku",)),
             ("units", ("Lineitem quantity",)), ("price", ("Lineitem price",)), ("discount", ("Lineitem discount",)),
             ("status", ("Financial Status",)), ("cancelled", ("Cancelled at",))),
    orders=True)

WOOCOMMERCE_ORDERS = Platform(
    "woocommerce_orders", "WooCommerce order export",
    signature=("order_number", "order_date", "item_sku", "item_quantity", "item_total", "item_subtotal",
               "item_name", "order_total", "Order Status", "Item Cost", "Order Line Total"),
    columns=(("order", ("order_number", "order_id")), ("date", ("order_date", "paid_date", "date_created")),
             ("sku", ("item_sku", "SKU")), ("units", ("item_quantity", "Quantity", "Qty")),
             ("revenue", ("item_total", "Order Line Total", "item_subtotal")), ("price", ("Item Cost", "item_price")),
             ("status", ("status", "Order Status"))),
    orders=True)

PLATFORMS = (SHOPIFY_PRODUCTS, SHOPIFY_ORDERS, WOOCOMMERCE_PRODUCTS, WOOCOMMERCE_ORDERS, AMAZON_LISTINGS,
             AMAZON_BUSINESS_REPORT, ETSY_LISTINGS)
ORDER_OUTPUT = HISTORY_REQUIRED  # what an order export becomes: sku, period, price, units


def own_format(present: Collection[str]) -> bool:
    """A table already written in the catalog's own column names (products or history)."""
    return all(c in present for c in PRODUCT_REQUIRED) or all(c in present for c in HISTORY_REQUIRED)


def candidates(present: Collection[str]) -> list[tuple[Platform, list[str]]]:
    """The platforms whose export `present` (normalised names) looks like: two signature columns or more."""
    if own_format(present):
        return []
    found = [(p, p.matches(present)) for p in PLATFORMS]
    return [(p, hits) for p, hits in found if len(hits) >= 2]
