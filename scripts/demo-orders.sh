#!/usr/bin/env bash
# Prints a stream of realistic sample orders as JSON Lines (for `chit order place
# --file -`): several restaurants' menus, item and order notes, pickup and delivery.
# A few orders at once, then one every 4-12 seconds, at most $1 (default 300) in all.
set -euo pipefail
max=${1:-300}
names=(Ann Somchai Priya Malee Tom Nok Ben Lin Kai Ploy Arun Mai Jo Niran Sara)
streets=("12 Sukhumvit Soi 8" "99/4 Rama IV Rd" "7 Silom Soi 3" "31 Thonglor Soi 10" "5 Ari Soi 1" "210 Phaya Thai Rd")
item_notes=("no peanuts" "extra spicy" "no ice" "less sweet" "no coriander" "sauce on the side")
order_notes=("ring the bell twice" "leave at the door" "call on arrival" "birthday, add a candle" "allergic to shellfish")

menu_thai=("Pad Thai:12000" "Green curry:14000" "Tom yum goong:16000" "Som tam:8000" "Khao soi:13000" "Mango sticky rice:9000" "Thai iced tea:4500" "Jasmine rice:2000")
menu_pizza=("Margherita:22000" "Quattro formaggi:28000" "Diavola:26000" "Garlic bread:9000" "Tiramisu:12000" "Lemonade:6000")
menu_burger=("Classic burger:19000" "Cheeseburger:21000" "Veggie burger:18000" "Fries:7000" "Onion rings:8000" "Milkshake:9000")

pick() { local arr=("$@"); echo "${arr[RANDOM % ${#arr[@]}]}"; }

order() {
  local n=$1 restaurant menu_name
  case $((RANDOM % 10)) in
    0|1) restaurant=pizza-2; menu_name=menu_pizza[@] ;;
    2) restaurant=burger-3; menu_name=menu_burger[@] ;;
    *) restaurant=thai-1; menu_name=menu_thai[@] ;;
  esac
  local menu=("${!menu_name}")
  local name phone items="" count=$((RANDOM % 4 + 1)) i
  name=$(pick "${names[@]}")
  phone=$(printf "08%08d" $((RANDOM * 3 + n)))
  for ((i = 0; i < count; i++)); do
    local entry=${menu[RANDOM % ${#menu[@]}]}
    local item_name=${entry%%:*} price=${entry##*:} qty=$((RANDOM % 3 + 1)) note=""
    if ((RANDOM % 4 == 0)); then note=",\"note\":\"$(pick "${item_notes[@]}")\""; fi
    items+="${items:+,}{\"name\":\"$item_name\",\"qty\":$qty,\"unit_price\":$price$note}"
  done
  local customer="{\"name\":\"$name\",\"phone\":\"$phone\""
  local fulfilment="pickup"
  if ((RANDOM % 10 < 7)); then
    fulfilment="delivery"
    customer+=",\"address\":\"$(pick "${streets[@]}")\""
  fi
  customer+="}"
  local order_note=""
  if ((RANDOM % 5 == 0)); then order_note=",\"note\":\"$(pick "${order_notes[@]}")\""; fi
  printf '{"restaurant":"%s","customer":%s,"items":[%s],"fulfilment":"%s"%s,"key":"demo-%s-%d"}\n' \
    "$restaurant" "$customer" "$items" "$fulfilment" "$order_note" "$$" "$n"
}

for ((n = 1; n <= max; n++)); do
  order "$n"
  if ((n > 4)); then sleep $((RANDOM % 9 + 4)); fi
done
