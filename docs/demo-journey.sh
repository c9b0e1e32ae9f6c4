#!/usr/bin/env bash
# The demo journey of the README, over HTTP, against a running `./dev run`:
# 爱丽丝 logs in -> shares her invite -> a friend binds -> buys -> pays (wx.requestPayment
# at the sandbox) -> her commission is frozen -> the order ships and is received ->
# the clock moves on past the after-sales window -> settled -> she withdraws.
#   docs/demo-journey.sh            (API http://127.0.0.1:5080, sandbox :5081)
#   API=http://127.0.0.1:5110 SANDBOX=http://127.0.0.1:5111 docs/demo-journey.sh
# Needs curl and python3 (for reading JSON). Each run brings a new friend.
set -euo pipefail
API=${API:-http://127.0.0.1:5080}
SANDBOX=${SANDBOX:-http://127.0.0.1:5081}
FRIEND=${FRIEND:-friend-$(date +%s)-$RANDOM}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
post() { local url=$1; shift; curl -sSf -X POST "$url" -H 'content-type: application/json' "$@"; }
get() { curl -sSf "$@"; }
step() { printf '\n==> %s\n' "$*"; }

step "1. 爱丽丝 logs in (the sandbox turns the code into her openid)"
ALICE=$(post "$API/api/v1/mp/login" -d '{"tenant":"demo","code":"demo-alice"}' | json 'd["token"]')
A=(-H "authorization: Bearer $ALICE")
FROZEN0=$(get "$API/api/v1/mp/wallet" "${A[@]}" | json 'd["frozen_fen"]')
AVAILABLE0=$(get "$API/api/v1/mp/wallet" "${A[@]}" | json 'd["available_fen"]')
echo "frozen ${FROZEN0} fen, withdrawable ${AVAILABLE0} fen"

step "2. She shares: her invite code (in her share link, poster and OA QR as scene i=<code>)"
CODE=$(get "$API/api/v1/mp/me" "${A[@]}" | json 'd["invite_code"]')
echo "invite code $CODE"

step "3. A friend opens the share and binds to her"
FRIEND_TOKEN=$(post "$API/api/v1/mp/login" -d "{\"tenant\":\"demo\",\"code\":\"$FRIEND\"}" | json 'd["token"]')
F=(-H "authorization: Bearer $FRIEND_TOKEN")
post "$API/api/v1/mp/me/bind" "${F[@]}" -d "{\"source\":\"share\",\"scene\":\"i=$CODE\"}"; echo

step "4. The friend buys a tin of 明前龙井"
SKU=$(get "$API/api/v1/mp/shop/products" "${F[@]}" \
  | json '[s["id"] for p in d["items"] if p["name"] == "明前龙井" for s in p["skus"]][0]')
ORDER=$(post "$API/api/v1/mp/shop/orders" "${F[@]}" -d "{\"items\":[{\"sku_id\":$SKU,\"quantity\":1}],
  \"receiver\":{\"name\":\"李四\",\"phone\":\"13900139000\",\"address\":\"杭州市西湖区龙井路 2 号\"}}" \
  | json 'd["id"]')
echo "order $ORDER"

step "5. ... and pays: the prepay answer goes to wx.requestPayment (the sandbox console's control)"
PREPAY=$(post "$API/api/v1/mp/shop/orders/$ORDER/prepay" "${F[@]}")
post "$SANDBOX/sandbox/controls/request_payment" -d "{\"prepay\": $PREPAY}"; echo
for i in $(seq 120); do
  STATUS=$(get "$API/api/v1/mp/shop/orders/$ORDER" "${F[@]}" | json 'd["status"]')
  [[ $STATUS == paid ]] && break
  (( i % 40 == 0 )) && post "$SANDBOX/sandbox/controls/deliver_pending" -d '{}' >/dev/null
  sleep 0.5
done
echo "order $ORDER is $STATUS (WeChat Pay's signed notification reached the product)"
[[ $STATUS == paid ]]

step "6. 爱丽丝's commission is frozen (the after-sales window has not passed)"
FROZEN1=$(get "$API/api/v1/mp/wallet" "${A[@]}" | json 'd["frozen_fen"]')
echo "frozen ${FROZEN0} -> ${FROZEN1} fen"
(( FROZEN1 > FROZEN0 ))

step "7. The boss ships it, the friend confirms receipt"
BOSS=$(post "$API/api/v1/admin/login" -d '{"tenant":"demo","username":"boss","password":"demo1234"}' \
  | json 'd["token"]')
post "$API/api/v1/admin/shop/orders/$ORDER/ship" -H "authorization: Bearer $BOSS" \
  -d '{"company":"顺丰速运","tracking_no":"SF1234567890"}' >/dev/null
post "$API/api/v1/mp/shop/orders/$ORDER/receive" "${F[@]}" | json 'd["status"]'

step "8. Move the clock on 8 days (the sandbox console): the order completes, commission settles"
post "$SANDBOX/sandbox/controls/move_clock" -d '{"days":"8"}'; echo
AVAILABLE1=$(get "$API/api/v1/mp/wallet" "${A[@]}" | json 'd["available_fen"]')
echo "withdrawable ${AVAILABLE0} -> ${AVAILABLE1} fen"
(( AVAILABLE1 > AVAILABLE0 ))

step "9. 爱丽丝 withdraws 10 yuan: below 50 yuan it is paid at once by merchant transfer"
W=$(post "$API/api/v1/mp/wallet/withdrawals" "${A[@]}" -d '{"amount_fen":1000}' | json 'd["id"]')
for i in $(seq 240); do
  WSTATUS=$(get "$API/api/v1/mp/wallet/withdrawals/$W" "${A[@]}" | json 'd["status"]')
  [[ $WSTATUS == paid ]] && break
  # WeChat Pay retries a notification the product did not take a few times, then stops;
  # the console's "投递待处理的支付通知" sends what is still pending.
  (( i % 20 == 0 )) && post "$SANDBOX/sandbox/controls/deliver_pending" -d '{}' >/dev/null
  sleep 0.5
done
echo "withdrawal $W is $WSTATUS"
[[ $WSTATUS == paid ]]
echo
echo "Journey complete. What reached members: $SANDBOX/sandbox (bottom of the page)."
