"""Synthetic functions: stocks, currencies, crypto, loans and tips."""

from __future__ import annotations

from ..pools import CRYPTO, CURRENCIES, STOCKS, pick, pick_two
from ..spec import FunctionSpec, integer, maybe, money, number, params, string

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


STOCK_PRICE = FunctionSpec(
    name="get_stock_price", domain="finance", task="look up stock prices",
    description="Get the latest trading price of a stock by its ticker symbol.",
    parameters=params({"symbol": string("Ticker symbol, e.g. 'AAPL'.")},
                      {"exchange": string("Exchange to quote from.", enum=["NASDAQ", "NYSE"], default="NASDAQ")}),
    sample=_stock_sample, run=_stock_run,
    requests=("What's the stock price of {symbol}?", "How is {company} ({symbol}) trading today?",
              "Quote for {symbol} please.", "What are {symbol} shares worth right now?"),
    text_slots=lambda a: {"company": STOCKS.get(a["symbol"], (a["symbol"],))[0]},
    extras={"exchange": ("Use the {exchange} quote.", "On the {exchange}.")},
    vary="symbol", pair_requests=("What are {x1} and {x2} trading at?", "Compare the share prices of {x1} and {x2}."),
    answers=("{company} ({symbol}) is at ${price_text}, {move} {change_abs}% today.",
             "{symbol}: ${price_text} ({change_percent}% today)."),
    answer_slots=lambda a, o: {"price_text": money(o["price"]), "change_abs": f"{abs(o['change_percent']):g}",
                               "move": "up" if o["change_percent"] >= 0 else "down"},
)


def _fx_sample(r):
    from_currency, to_currency = pick_two(r, CURRENCY_CODES)
    return {"amount": r.choice((20, 50, 75.5, 100, 250, 1000, 1200, 5000)), "from_currency": from_currency,
            "to_currency": to_currency}


def _fx_run(args, r):
    rate = CURRENCIES[args["to_currency"]] / CURRENCIES[args["from_currency"]] * r.uniform(0.99, 1.01)
    return {"amount": args["amount"], "from_currency": args["from_currency"], "to_currency": args["to_currency"],
            "rate": round(rate, 4), "converted": round(args["amount"] * rate, 2)}


CONVERT_CURRENCY = FunctionSpec(
    name="convert_currency", domain="finance", task="convert currencies",
    description="Convert an amount of money from one currency to another at today's rate.",
    parameters=params({"amount": number("Amount to convert.", minimum=0),
                       "from_currency": string("ISO code of the source currency.", enum=CURRENCY_CODES),
                       "to_currency": string("ISO code of the target currency.", enum=CURRENCY_CODES)}),
    sample=_fx_sample, run=_fx_run,
    requests=("Convert {amount} {from_currency} to {to_currency}.", "How much is {amount} {from_currency} in {to_currency}?",
              "What's {amount} {from_currency} worth in {to_currency} today?", "{amount} {from_currency} to {to_currency}?"),
    vary="to_currency", pair_requests=("Convert {amount} {from_currency} into {x1} and into {x2}.",),
    answers=("{amount} {from_currency} is about {converted_text} {to_currency} (rate {rate}).",
             "That comes to {converted_text} {to_currency}."),
    answer_slots=lambda a, o: {"converted_text": money(o["converted"])},
)


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


CRYPTO_PRICE = FunctionSpec(
    name="get_crypto_price", domain="finance", task="check cryptocurrency prices",
    description="Get the current price of a cryptocurrency.",
    parameters=params({"coin": string("Cryptocurrency.", enum=list(CRYPTO))},
                      {"currency": string("Quote currency.", enum=["USD", "EUR", "GBP", "JPY"], default="USD")}),
    sample=_crypto_sample, run=_crypto_run,
    requests=("What's the price of {coin}?", "How much is one {coin} worth?", "{coin} price right now?",
              "Check {coin} for me."),
    extras={"currency": ("In {currency}.", "Quote it in {currency}.")},
    vary="coin", pair_requests=("Prices of {x1} and {x2}, please.",),
    answers=("One {coin} is {price} {currency} ({change_24h_percent}% in 24h).", "{coin}: {price} {currency}."),
)


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


LOAN = FunctionSpec(
    name="calculate_loan_payment", domain="finance", task="calculate loan payments",
    description="Compute the fixed payment of an amortised loan.",
    parameters=params({"principal": number("Amount borrowed.", minimum=100),
                       "annual_rate_percent": number("Yearly interest rate in percent.", minimum=0, maximum=40),
                       "years": integer("Loan term in years.", minimum=1, maximum=40)},
                      {"frequency": string("Payment frequency.", enum=["monthly", "biweekly"], default="monthly")}),
    sample=_loan_sample, run=_loan_run,
    requests=("What would I pay on a {principal} loan at {annual_rate_percent}% over {years} years?",
              "Calculate the payment for borrowing {principal} for {years} years at {annual_rate_percent} percent.",
              "Mortgage of {principal}, {annual_rate_percent}% interest, {years}-year term: what's the payment?"),
    extras={"frequency": ("Payments are {frequency}.", "I'd pay {frequency}.")},
    answers=("Your {frequency} payment would be {payment_text}; total interest {interest_text}.",
             "That's {payment_text} per payment ({payments} {frequency} payments)."),
    answer_slots=lambda a, o: {"payment_text": money(o["payment"]), "interest_text": money(o["total_interest"])},
)


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


TIP = FunctionSpec(
    name="calculate_tip", domain="finance", task="work out tips",
    description="Calculate the tip and total for a restaurant bill, optionally split between people.",
    parameters=params({"bill_amount": number("The bill before tip.", minimum=0)},
                      {"tip_percent": integer("Tip percentage.", minimum=0, maximum=50, default=15),
                       "split_between": integer("Number of people paying.", minimum=1, maximum=20, default=1)}),
    sample=_tip_sample, run=_tip_run,
    requests=("What's a {tip_percent}% tip on {bill_amount}?", "Our bill is {bill_amount}. How much should we tip?",
              "Work out the tip on a {bill_amount} bill.", "Tip calculator: bill {bill_amount}."),
    extras={"tip_percent": ("Use {tip_percent}%.", "We want to leave {tip_percent} percent."),
            "split_between": ("We're splitting it {split_between} ways.", "There are {split_between} of us.")},
    answers=("Tip: {tip_text}, total {total_text}{each}.", "Leave {tip_text}; the total is {total_text}{each}."),
    answer_slots=lambda a, o: {"tip_text": money(o["tip"]), "total_text": money(o["total"]),
                               "each": f" ({money(o['per_person'])} each)" if a.get("split_between", 1) > 1 else ""},
)

FUNCTIONS = [STOCK_PRICE, CONVERT_CURRENCY, CRYPTO_PRICE, LOAN, TIP]
