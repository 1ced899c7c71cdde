"""Synthetic functions: stocks, currencies, crypto, loans and tips."""

from __future__ import annotations

from ..pools import CRYPTO, CURRENCIES, STOCKS, pick, pick_two
from ..spec import Behaviour, maybe, money

CURRENCY_CODES = list(CURRENCIES)


def _stock_sample(r):
    args = {"symbol": pick(r, STOCKS)}
    if maybe(r, 0.2):
        args["exchange"] = r.choice(["NASDAQ", "NYSE"])
    return args


def _stock_run(args, r):
    company, base = STOCKS.get(args["symbol"], (args["symbol"], 50.0))
    return {"symbol": args["symbol"], "company": company, "price": round(base * r.uniform(0.85, 1.15), 2),
            "currency": "USD", "change_percent": round(r.uniform(-4, 4), 2)}


def _fx_sample(r):
    from_currency, to_currency = pick_two(r, CURRENCY_CODES)
    return {"amount": r.choice((20, 50, 75.5, 100, 250, 1000, 1200, 5000)), "from_currency": from_currency,
            "to_currency": to_currency}


def _fx_run(args, r):
    rate = CURRENCIES[args["to_currency"]] / CURRENCIES[args["from_currency"]] * r.uniform(0.99, 1.01)
    return {"amount": args["amount"], "from_currency": args["from_currency"], "to_currency": args["to_currency"],
            "rate": round(rate, 4), "converted": round(args["amount"] * rate, 2)}


def _crypto_sample(r):
    args = {"coin": pick(r, CRYPTO)}
    if maybe(r, 0.35):
        args["currency"] = r.choice(["USD", "EUR", "GBP", "JPY"])
    return args


def _crypto_run(args, r):
    currency = args.get("currency", "USD")
    price = CRYPTO[args["coin"]] * CURRENCIES[currency] * r.uniform(0.9, 1.1)
    return {"coin": args["coin"], "currency": currency, "price": round(price, 4 if price < 10 else 2),
            "change_24h_percent": round(r.uniform(-8, 8), 2)}


def _loan_sample(r):
    args = {"principal": r.choice((5000, 12000, 25000, 150000, 250000, 400000)),
            "annual_rate_percent": r.choice((3.5, 4.25, 5, 6.1, 7.5, 9.9)), "years": r.choice((3, 5, 10, 15, 20, 30))}
    if maybe(r, 0.25):
        args["frequency"] = r.choice(["monthly", "biweekly"])
    return args


def _loan_run(args, r):
    per_year = 26 if args.get("frequency") == "biweekly" else 12
    rate, n = args["annual_rate_percent"] / 100 / per_year, args["years"] * per_year
    payment = args["principal"] * rate / (1 - (1 + rate) ** -n) if rate else args["principal"] / n
    return {"payment": round(payment, 2), "frequency": args.get("frequency", "monthly"), "payments": n,
            "total_interest": round(payment * n - args["principal"], 2)}


def _tip_sample(r):
    args = {"bill_amount": r.choice((18.5, 42, 64.8, 87.25, 120, 235.6))}
    if maybe(r, 0.7):
        args["tip_percent"] = r.choice((10, 12, 15, 18, 20, 25))
    if maybe(r, 0.35):
        args["split_between"] = r.randint(2, 6)
    return args


def _tip_run(args, r):
    tip = args["bill_amount"] * args.get("tip_percent", 15) / 100
    total = args["bill_amount"] + tip
    return {"tip": round(tip, 2), "total": round(total, 2), "per_person": round(total / args.get("split_between", 1), 2)}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/finance.yaml.
BEHAVIOUR = {
    "get_stock_price": Behaviour(sample=_stock_sample, run=_stock_run, text_slots=lambda a: {"company": STOCKS.get(a["symbol"], (a["symbol"],))[0]}, answer_slots=lambda a, o: {"price_text": money(o["price"]), "change_abs": f"{abs(o['change_percent']):g}",
                               "move": "up" if o["change_percent"] >= 0 else "down"}),
    "convert_currency": Behaviour(sample=_fx_sample, run=_fx_run, answer_slots=lambda a, o: {"converted_text": money(o["converted"])}),
    "get_crypto_price": Behaviour(sample=_crypto_sample, run=_crypto_run),
    "calculate_loan_payment": Behaviour(sample=_loan_sample, run=_loan_run, answer_slots=lambda a, o: {"payment_text": money(o["payment"]), "interest_text": money(o["total_interest"])}),
    "calculate_tip": Behaviour(sample=_tip_sample, run=_tip_run, answer_slots=lambda a, o: {"tip_text": money(o["tip"]), "total_text": money(o["total"]),
                               "each": f" ({money(o['per_person'])} each)" if a.get("split_between", 1) > 1 else ""}),
}
