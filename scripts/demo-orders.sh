#!/usr/bin/env bash
# Prints a stream of sample orders as JSON Lines (for `chit order place --file -`), as
# a restaurant's day brings them: a Thai kitchen with a menu (thai-1: its items by the
# names on assets/menus/thai-1.toml, some naming their category), a pizzeria and a
# burger bar without one; each dish once per order with its quantity, item and order
# notes, pickup and delivery, the odd rush order, orders from the web, the till, the
# phone and delivery platforms, and some placed for later (due in 25-90 minutes).
# A few orders at once, then one every 4-12 seconds, at most $1 (default 300) in all.
set -euo pipefail
max=${1:-300}
names=(Ann Somchai Priya Malee Tom Nok Ben Lin Kai Ploy Arun Mai Jo Niran Sara)
streets=("12 Sukhumvit Soi 8" "99/4 Rama IV Rd" "7 Silom Soi 3" "31 Thonglor Soi 10" "5 Ari Soi 1" "210 Phaya Thai Rd")
sources=(web web pos phone grab lineman uber)
order_notes=("ring the bell twice" "leave at the door" "call on arrival" "birthday, add a candle" "allergic to shellfish")

# NAME:PRICE[:CATEGORY[:NOTE|NOTE...]] — what a guest orders, with the notes a guest
# would add to that dish.
menu_thai=(
  "Pad Thai:12000:Noodles & stir-fries:no peanuts|extra lime|no egg"
  "Pad kra pao:11000:Noodles & stir-fries:fried egg on top|extra spicy"
  "Pad see ew:11500::less sweet"
  "Green curry:14000:Soups & curries:not too spicy"
  "Massaman curry:15500::extra potatoes"
  "Tom yum goong:16000::extra spicy|no coriander"
  "Khao soi:13000"
  "Som tam:8000:Salads:mild|no dried shrimp"
  "Larb gai:9500:Salads:extra herbs"
  "Gai yang:15000:Grill:extra sauce"
  "Moo ping:9000:Grill"
  "Chicken satay:10500"
  "Spring rolls:8500:Starters:sauce on the side"
  "Fish cakes:9500:Starters"
  "Jasmine rice:2000"
  "Sticky rice:2500"
  "Mango sticky rice:9000:Desserts:less sweet"
  "Thai iced tea:4500:Drinks:less sweet|no ice"
  "Fresh coconut:6000"
  "Singha:9000"
)
menu_pizza=("Margherita:22000::extra basil" "Quattro formaggi:28000" "Diavola:26000::extra chilli" "Garlic bread:9000" "Tiramisu:12000" "Lemonade:6000::no ice")
menu_burger=("Classic burger:19000::no pickles|medium rare" "Cheeseburger:21000::extra cheese" "Veggie burger:18000" "Fries:7000::extra salt" "Onion rings:8000" "Milkshake:9000::chocolate")

pick() { local arr=("$@"); echo "${arr[RANDOM % ${#arr[@]}]}"; }

# `date` for a time `$1` minutes from now, as RFC 3339 UTC.
in_minutes() { date -u -d "+$1 minutes" +%Y-%m-%dT%H:%M:%SZ; }

order() {
  local n=$1 restaurant menu_name
  case $((RANDOM % 10)) in
    0|1) restaurant=pizza-2; menu_name=menu_pizza[@] ;;
    2) restaurant=burger-3; menu_name=menu_burger[@] ;;
    *) restaurant=thai-1; menu_name=menu_thai[@] ;;
  esac
  local menu=("${!menu_name}")
  # Dishes chosen one at a time, as a guest does; the same dish twice is one line
  # with its quantity (and its first note).
  local -A qty=() note=() category=() price=()
  local order_of=() count=$((RANDOM % 4 + 1)) i
  for ((i = 0; i < count; i++)); do
    local entry=${menu[RANDOM % ${#menu[@]}]}
    IFS=: read -r dish cost cat notes <<<"$entry"
    if [ -z "${qty[$dish]:-}" ]; then
      order_of+=("$dish")
      qty[$dish]=0
      price[$dish]=$cost
      category[$dish]=${cat:-}
      note[$dish]=""
      if [ -n "${notes:-}" ] && ((RANDOM % 3 == 0)); then
        IFS='|' read -r -a choices <<<"$notes"
        note[$dish]=$(pick "${choices[@]}")
      fi
    fi
    qty[$dish]=$((qty[$dish] + RANDOM % 2 + 1))
  done
  local items="" dish
  for dish in "${order_of[@]}"; do
    local extra=""
    [ -n "${category[$dish]}" ] && extra+=",\"category\":\"${category[$dish]}\""
    [ -n "${note[$dish]}" ] && extra+=",\"note\":\"${note[$dish]}\""
    items+="${items:+,}{\"name\":\"$dish\",\"qty\":${qty[$dish]},\"unit_price\":${price[$dish]}$extra}"
  done
  local name phone
  name=$(pick "${names[@]}")
  phone=$(printf "08%08d" $((RANDOM * 3 + n)))
  local customer="{\"name\":\"$name\",\"phone\":\"$phone\""
  local fulfilment="pickup"
  if ((RANDOM % 10 < 7)); then
    fulfilment="delivery"
    customer+=",\"address\":\"$(pick "${streets[@]}")\""
  fi
  customer+="}"
  local more=",\"source\":\"$(pick "${sources[@]}")\""
  if ((RANDOM % 5 == 0)); then more+=",\"note\":\"$(pick "${order_notes[@]}")\""; fi
  if ((RANDOM % 8 == 0)); then more+=",\"priority\":\"rush\""; fi
  if ((RANDOM % 6 == 0)); then more+=",\"due_at\":\"$(in_minutes $((RANDOM % 66 + 25)))\""; fi
  printf '{"restaurant":"%s","customer":%s,"items":[%s],"fulfilment":"%s"%s,"key":"demo-%s-%d"}\n' \
    "$restaurant" "$customer" "$items" "$fulfilment" "$more" "$$" "$n"
}

for ((n = 1; n <= max; n++)); do
  order "$n"
  if ((n > 4)); then sleep $((RANDOM % 9 + 4)); fi
done
