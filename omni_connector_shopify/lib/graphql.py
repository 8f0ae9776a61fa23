"""The GraphQL documents the Shopify client sends, and Shopify id helpers.

Each document names its operation (the throttle learns each operation's cost by name) and
selects only what the connector reads. Page sizes and per-node costs sit beside the
documents they price.
"""

import json
import re


def gid(kind, value):
    """``gid('Order', 5829417091234)`` -> ``'gid://shopify/Order/5829417091234'`` (gids pass through)."""
    value = str(value)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def legacy_id(global_id):
    """``'gid://shopify/Order/5829417091234'`` -> ``5829417091234`` (int); None stays None."""
    if global_id in (None, ""):
        return None
    tail = str(global_id).rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else tail


def _gql_string(value):
    """A GraphQL string literal (JSON string syntax is valid GraphQL)."""
    return json.dumps(str(value))


def topic_enum(topic):
    """``'orders/create'`` -> ``'ORDERS_CREATE'``; enum values pass through."""
    return re.sub(r"[/.\s-]+", "_", str(topic).strip()).upper()


def nodes(connection) -> list:
    """The nodes of a GraphQL connection (``{nodes}`` or ``{edges: [{node}]}``), or a plain list."""
    if isinstance(connection, list):
        return connection
    if not connection:
        return []
    if "nodes" in connection:
        return connection.get("nodes") or []
    return [edge.get("node") for edge in connection.get("edges") or []]


# -------------------------------------------------------------------- GraphQL texts
MONEY_BAG = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
_TAX_LINES = "taxLines { title rate priceSet { %s } }" % MONEY_BAG
_DISCOUNT_ALLOCATIONS = (
    "discountAllocations { allocatedAmountSet { %s } discountApplication { index } }" % MONEY_BAG
)
_ADDRESS = (
    "firstName lastName company address1 address2 city zip province provinceCode country countryCodeV2 phone"
)
# The order's fraud risk assessment (``mapper_common.shopify_risk_level`` reads it).
_RISK = "risk { recommendation assessments { riskLevel } }"
LINE_ITEM_FIELDS = f"""
  id sku name title variantTitle vendor quantity currentQuantity requiresShipping taxable isGiftCard
  variant {{ id legacyResourceId }}
  product {{ id legacyResourceId }}
  originalUnitPriceSet {{ {MONEY_BAG} }}
  {_TAX_LINES}
  {_DISCOUNT_ALLOCATIONS}
"""
ORDER_FIELDS = f"""
  id legacyResourceId name confirmationNumber
  createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  currencyCode presentmentCurrencyCode taxesIncluded taxExempt
  email phone sourceName test tags note
  displayFinancialStatus displayFulfillmentStatus
  paymentGatewayNames discountCodes
  customAttributes {{ key value }}
  subtotalPriceSet {{ {MONEY_BAG} }}
  totalPriceSet {{ {MONEY_BAG} }}
  totalTaxSet {{ {MONEY_BAG} }}
  totalDiscountsSet {{ {MONEY_BAG} }}
  totalShippingPriceSet {{ {MONEY_BAG} }}
  currentTotalPriceSet {{ {MONEY_BAG} }}
  currentSubtotalPriceSet {{ {MONEY_BAG} }}
  currentTotalTaxSet {{ {MONEY_BAG} }}
  totalOutstandingSet {{ {MONEY_BAG} }}
  {_TAX_LINES}
  discountApplications(first: 20) {{ nodes {{
    __typename index allocationMethod targetSelection targetType
    value {{
      __typename
      ... on MoneyV2 {{ amount currencyCode }}
      ... on PricingPercentageValue {{ percentage }}
    }}
    ... on DiscountCodeApplication {{ code }}
    ... on ManualDiscountApplication {{ title }}
    ... on AutomaticDiscountApplication {{ title }}
    ... on ScriptDiscountApplication {{ title }}
  }} }}
  customer {{
    id legacyResourceId firstName lastName tags
    defaultEmailAddress {{ emailAddress }} defaultPhoneNumber {{ phoneNumber }}
  }}
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  lineItems(first: $lineItemsFirst, after: $lineItemsAfter) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {LINE_ITEM_FIELDS} }}
  }}
  shippingLines(first: 10, includeRemovals: true) {{ nodes {{
    id code title source isRemoved
    originalPriceSet {{ {MONEY_BAG} }} discountedPriceSet {{ {MONEY_BAG} }}
    {_TAX_LINES}
    {_DISCOUNT_ALLOCATIONS}
  }} }}
  transactions(first: 20) {{
    id kind status gateway test authorizationCode processedAt
    parentTransaction {{ id }}
    amountSet {{ {MONEY_BAG} }}
  }}
  {_RISK}
"""

Q_ORDERS_UPDATED_SINCE = """
query OmniOrdersUpdatedSince($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt }
  }
}
"""

Q_ORDER = (
    """
query OmniOrder($id: ID!, $lineItemsFirst: Int!, $lineItemsAfter: String) {
  order(id: $id) { %s }
}
"""
    % ORDER_FIELDS
)

Q_ORDER_TRANSACTIONS = (
    """
query OmniOrderTransactions($id: ID!) {
  order(id: $id) {
    id
    transactions(first: 50) {
      id kind status gateway test authorizationCode processedAt
      parentTransaction { id }
      amountSet { %s }
    }
    %s
  }
}
"""
    % (MONEY_BAG, _RISK)
)

Q_ORDER_LINE_ITEMS = (
    """
query OmniOrderLineItems($id: ID!, $lineItemsFirst: Int!, $lineItemsAfter: String) {
  order(id: $id) {
    id
    lineItems(first: $lineItemsFirst, after: $lineItemsAfter) {
      pageInfo { hasNextPage endCursor }
      nodes { %s }
    }
  }
}
"""
    % LINE_ITEM_FIELDS
)

# What the polling backstop reads besides the order itself: its refunds and fulfillments (a lost
# ``refunds/create`` or ``fulfillments/*`` webhook is repaired from these). ``Order.refunds`` and
# ``Order.fulfillments`` are plain lists (``first`` caps them); the connections inside are paged
# small enough that one order stays well under the 1000-point single-query limit.
REFUNDS_PER_ORDER = 10
FULFILLMENTS_PER_ORDER = 10
AFTERMATH_COST = 2 + REFUNDS_PER_ORDER * 30 + FULFILLMENTS_PER_ORDER * 14
Q_ORDER_AFTERMATH = (
    """
query OmniOrderRefundsFulfillments($id: ID!) {
  order(id: $id) {
    id updatedAt
    refunds(first: %(refunds)s) {
      id createdAt updatedAt note
      totalRefundedSet { %(money)s }
      refundLineItems(first: 25) { nodes {
        quantity restockType restocked
        lineItem { id sku }
        subtotalSet { %(money)s } totalTaxSet { %(money)s }
      } }
      refundShippingLines(first: 5) { nodes { subtotalAmountSet { %(money)s } taxAmountSet { %(money)s } } }
      orderAdjustments(first: 5) { nodes { amountSet { %(money)s } taxAmountSet { %(money)s } } }
      transactions(first: 5) { nodes {
        id kind status gateway test authorizationCode processedAt
        parentTransaction { id }
        amountSet { %(money)s }
      } }
    }
    fulfillments(first: %(fulfillments)s) {
      id status createdAt updatedAt
      trackingInfo(first: 3) { company number url }
      fulfillmentLineItems(first: 25) { nodes { quantity lineItem { id sku } } }
    }
  }
}
"""
    % {"refunds": REFUNDS_PER_ORDER, "fulfillments": FULFILLMENTS_PER_ORDER, "money": MONEY_BAG}
)

Q_VARIANTS = """
query OmniVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId sku barcode title
      product { id title }
      inventoryItem { id tracked }
    }
  }
}
"""

M_INVENTORY_SET = """
mutation OmniInventorySetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: %s) {
    inventoryAdjustmentGroup {
      id reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""

# A return and what it exchanges (``mapper_exchange.map_graphql_exchange`` maps it).
Q_RETURN = (
    """
query OmniReturn($id: ID!) {
  return(id: $id) {
    id name status createdAt closedAt
    order { id currencyCode taxesIncluded }
    returnLineItems(first: 50) { nodes {
      id quantity
      ... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } }
    } }
    exchangeLineItems(first: 50) { nodes { id lineItems { %s } } }
  }
}
"""
    % LINE_ITEM_FIELDS
)

Q_FULFILLMENT_ORDERS = """
query OmniFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id status requestStatus
        assignedLocation { name location { id } }
        lineItems(first: 50) {
          nodes { id totalQuantity remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
"""

M_FULFILLMENT_CREATE = """
mutation OmniFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status createdAt trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""

M_REFUND_CREATE = (
    """
mutation OmniRefundCreate($input: RefundInput!) {
  refundCreate(input: $input) @idempotent(key: %s) {
    refund {
      id createdAt note
      totalRefundedSet { """
    + MONEY_BAG
    + """ }
      transactions(first: 10) {
        nodes { id kind status gateway parentTransaction { id } amountSet { """
    + MONEY_BAG
    + """ } }
      }
    }
    userErrors { field message }
  }
}
"""
)

M_ORDER_CANCEL = """
mutation OmniOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                         $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) @idempotent(key: %s) {
    job { id done }
    userErrors: orderCancelUserErrors { field message code }
  }
}
"""

Q_WEBHOOK_SUBSCRIPTIONS = """
query OmniWebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri format }
  }
}
"""

M_WEBHOOK_CREATE = """
mutation OmniWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

M_WEBHOOK_UPDATE = """
mutation OmniWebhookSubscriptionUpdate($id: ID!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

Q_SHOP = """
query OmniShop {
  shop { id name myshopifyDomain currencyCode ianaTimezone }
}
"""

# Shopify Payments (scope read_shopify_payments_payouts). A payout node costs about 13
# points (itself, net, summary and its ten MoneyV2), a balance transaction about 6.
PAYOUT_PAGE_SIZE = 50
PAYOUT_NODE_COST = 13
BALANCE_TRANSACTION_PAGE_SIZE = 100
BALANCE_TRANSACTION_NODE_COST = 6
_PAYOUT_SUMMARY = (
    # GraphQL ShopifyPaymentsPayoutSummary field -> REST payout ``summary`` key
    ("chargesGross", "charges_gross_amount"),
    ("chargesFee", "charges_fee_amount"),
    ("refundsFeeGross", "refunds_gross_amount"),
    ("refundsFee", "refunds_fee_amount"),
    ("adjustmentsGross", "adjustments_gross_amount"),
    ("adjustmentsFee", "adjustments_fee_amount"),
    ("reservedFundsGross", "reserved_funds_gross_amount"),
    ("reservedFundsFee", "reserved_funds_fee_amount"),
    ("retriedPayoutsGross", "retried_payouts_gross_amount"),
    ("retriedPayoutsFee", "retried_payouts_fee_amount"),
)

Q_PAYOUTS = """
query OmniPayouts($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    id
    payouts(first: $first, after: $after, query: $query, sortKey: ISSUED_AT) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id legacyResourceId issuedAt status transactionType
        net { amount currencyCode }
        summary { %s }
      }
    }
  }
}
""" % " ".join(f"{name} {{ amount currencyCode }}" for name, _key in _PAYOUT_SUMMARY)

Q_BALANCE_TRANSACTIONS = """
query OmniPayoutBalanceTransactions($first: Int!, $after: String, $query: String!) {
  shopifyPaymentsAccount {
    id
    balanceTransactions(first: $first, after: $after, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id type test transactionDate adjustmentReason
        sourceId sourceType sourceOrderTransactionId
        amount { amount currencyCode }
        fee { amount currencyCode }
        net { amount currencyCode }
        associatedOrder { id }
        associatedPayout { id status }
      }
    }
  }
}
"""
