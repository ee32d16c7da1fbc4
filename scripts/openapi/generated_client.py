"""A client generated from /v1/openapi.json (openapi-python-client), used as a shop
would: place an order (and again with the same key), read it back, move it on, list,
read the figures, and the seed API. Run by scripts/openapi-check.sh against a real
server; any answer the generated models cannot read, or a wrong one, fails it."""

import sys

from chit_client import AuthenticatedClient
import chit_client.models as m
from chit_client.api.default import (
    change_status, get_order, list_orders, place_order, seed_place_order, stats,
)

base, token = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=token)

order = m.NewOrder(
    restaurant="r1",
    customer=m.NewOrderCustomer(name="Ann", phone="0812345678", address="12 Sukhumvit"),
    items=[m.NewOrderItemsItem(name="Pad Thai", unit_price=12000, qty=2)],
)
first = place_order.sync_detailed(client=client, body=order, idempotency_key="gen-1")
assert first.status_code == 201, first
placed = first.parsed
assert isinstance(placed, m.Placed) and not placed.duplicate, placed
assert placed.order.total == 24000 and placed.order.status == m.Status.PENDING
again = place_order.sync_detailed(client=client, body=order, idempotency_key="gen-1")
assert again.status_code == 200 and again.parsed.duplicate and again.parsed.order.id == placed.order.id

got = get_order.sync(client=client, id=placed.order.id)
assert isinstance(got, m.OneOrder) and got.order.id == placed.order.id, got
wrong = change_status.sync_detailed(client=client, id=placed.order.id, body=m.StatusChange(status=m.Status.READY))
assert wrong.status_code == 409 and wrong.parsed.error.code == m.ErrorErrorCode.INVALID_TRANSITION, wrong
moved = change_status.sync(client=client, id=placed.order.id, body=m.StatusChange(status=m.Status.CONFIRMED))
assert moved.order.status == m.Status.CONFIRMED, moved

page = list_orders.sync(client=client, restaurant="r1", limit=1)
assert isinstance(page, m.OrdersPage) and len(page.orders) == 1, page
figures = stats.sync(client=client, restaurant="r1")
assert isinstance(figures, m.Stats) and figures.total_orders >= 1, figures

seed = seed_place_order.sync_detailed(client=client, body=m.SeedOrder(
    customer_info=m.SeedOrderCustomerInfo(name="Bo", phone="0899999999", address="1 Soi"),
    restaurant_id="r1",
    items=[m.SeedOrderItemsItem(name="Tea", price=35.5, quantity=2)],
    total_amount=71.0,
))
assert seed.status_code == 201 and isinstance(seed.parsed, m.SeedOrderView), seed
assert seed.parsed.total_amount == 71.0

print("a client generated from /v1/openapi.json placed, read, moved and listed orders")
