"""Synthetic functions: shopping and cooking."""

from __future__ import annotations

from ..pools import FOODS, GROCERIES, INGREDIENTS, PRODUCTS, code, date, pick
from ..spec import Behaviour, fmt_value, maybe, money

CATEGORIES = ["electronics", "sports", "home", "kitchen", "clothing", "toys", "outdoors"]
SORTS = {"relevance": "most relevant first", "price_asc": "cheapest first", "price_desc": "most expensive first",
         "rating": "best rated first"}
CUISINES = ["italian", "mexican", "indian", "japanese", "thai", "french", "mediterranean", "chinese"]
DIETS = ["vegetarian", "vegan", "gluten_free", "keto", "none"]
MEASURE_UNITS = ["grams", "ml", "cups", "tablespoons", "teaspoons", "pieces"]
NUTRITION = {"banana": (89, 1.1, 23, 0.3), "apple": (52, 0.3, 14, 0.2), "brown rice": (111, 2.6, 23, 0.9),
             "chicken breast": (165, 31, 0, 3.6), "almonds": (579, 21, 22, 50), "oatmeal": (68, 2.4, 12, 1.4),
             "salmon": (208, 20, 0, 13), "broccoli": (34, 2.8, 7, 0.4), "avocado": (160, 2, 9, 15),
             "greek yogurt": (59, 10, 3.6, 0.4), "peanut butter": (588, 25, 20, 50), "sweet potato": (86, 1.6, 20, 0.1)}


def _products_sample(r):
    args = {"query": pick(r, PRODUCTS)}
    if maybe(r, 0.3):
        args["max_price"] = r.choice((25, 50, 100, 150, 300))
    if maybe(r, 0.3):
        args["sort_by"] = r.choice(list(SORTS))
    if maybe(r, 0.2):
        args["in_stock_only"] = True
    if maybe(r, 0.2):
        args["category"] = r.choice(CATEGORIES)
    return args


def _products_run(args, r):
    cap = args.get("max_price", 400)
    items = [{"product_id": code(r, "P", 6), "name": f"{r.choice(['Pro', 'Lite', 'Max', 'Eco', 'Classic'])} "
              f"{args['query']}", "price": round(r.uniform(0.3, 1) * cap, 2), "rating": round(r.uniform(3, 5), 1),
              "in_stock": args.get("in_stock_only", r.random() < 0.8)} for _ in range(r.randint(1, 4))]
    key = {"price_desc": lambda p: -p["price"], "rating": lambda p: -p["rating"]}.get(args.get("sort_by", ""),
                                                                                       lambda p: p["price"])
    return {"query": args["query"], "results": sorted(items, key=key)}


def _cart_sample(r):
    args = {"product_id": code(r, "P", 6)}
    if maybe(r, 0.5):
        args["quantity"] = r.randint(2, 5)
    return args


def _order_run(args, r):
    status = r.choice(["processing", "shipped", "out_for_delivery", "delivered"])
    return {"order_id": args["order_id"], "status": status, "carrier": r.choice(["UPS", "DHL", "FedEx", "USPS"]),
            "estimated_delivery": date(r, start_offset=120, span=20)}


def shopping_items(names: list[str], r) -> list[dict]:
    """Items for :data:`SHOPPING_LIST`, some with quantities."""
    items = []
    for name in names:
        item = {"name": name}
        if maybe(r, 0.4):
            item["quantity"] = r.randint(2, 6)
        items.append(item)
    return items


def _list_sample(r):
    args = {"items": shopping_items(r.sample(GROCERIES, r.randint(1, 4)), r)}
    if maybe(r, 0.2):
        args["list_name"] = r.choice(["weekly groceries", "party", "camping trip"])
    return args


def _items_text(args) -> dict:
    parts = [f"{item['quantity']} {item['name']}" if "quantity" in item else item["name"] for item in args["items"]]
    return {"items_text": fmt_value(parts)}


def _recipes_sample(r):
    args = {"ingredients": r.sample(INGREDIENTS, r.randint(1, 3))}
    if maybe(r, 0.4):
        args["cuisine"] = r.choice(CUISINES)
    if maybe(r, 0.3):
        args["max_prep_minutes"] = r.choice((15, 20, 30, 45, 60))
    if maybe(r, 0.25):
        args["diet"] = r.choice(DIETS[:4])
    return args


def _recipes_run(args, r):
    main = args["ingredients"][0]
    dish = r.choice(["stir-fry", "curry", "bake", "salad", "soup", "skillet", "tacos"])
    recipes = [{"title": f"{args.get('cuisine', r.choice(CUISINES)).title()} {main} {dish}",
                "prep_minutes": r.randint(min(10, args.get("max_prep_minutes", 60)), args.get("max_prep_minutes", 60)),
                "ingredients": [*args["ingredients"], *r.sample(["garlic", "onions", "olive oil", "rice", "lemon"], 2)]}]
    return {"recipes": recipes}


def _nutrition_sample(r):
    args = {"food": pick(r, FOODS)}
    if maybe(r, 0.5):
        args["grams"] = r.choice((30, 50, 150, 200, 250))
    return args


def _nutrition_run(args, r):
    kcal, protein, carbs, fat = NUTRITION.get(args["food"], (100, 5, 10, 5))
    scale = args.get("grams", 100) / 100
    return {"food": args["food"], "grams": args.get("grams", 100), "calories": round(kcal * scale),
            "protein_g": round(protein * scale, 1), "carbs_g": round(carbs * scale, 1), "fat_g": round(fat * scale, 1)}


RECIPE_AMOUNTS = {"flour": ((200, 250, 300, 500), "grams"), "sugar": ((50, 100, 150), "grams"),
                  "milk": ((1, 2), "cups"), "butter": ((2, 3, 4), "tablespoons"), "eggs": ((2, 3, 4), "pieces"),
                  "rice": ((1, 2), "cups"), "cream": ((100, 200, 250), "ml"), "cocoa": ((2, 3), "tablespoons"),
                  "salt": ((0.5, 1), "teaspoons"), "baking powder": ((1, 2), "teaspoons")}


def _scale_sample(r):
    names = r.sample(list(RECIPE_AMOUNTS), r.randint(2, 4))
    items = [{"name": n, "amount": r.choice(RECIPE_AMOUNTS[n][0]), "unit": RECIPE_AMOUNTS[n][1]} for n in names]
    original = r.choice((2, 4, 6))
    return {"ingredients": items, "original_servings": original,
            "target_servings": r.choice([s for s in (1, 2, 3, 4, 8, 10, 12) if s != original])}


def _quantity(item: dict) -> str:
    """``{"name": "eggs", "amount": 3, "unit": "pieces"}`` -> ``3 eggs``; otherwise ``200 grams of flour``."""
    if item["unit"] == "pieces":
        return f"{fmt_value(item['amount'])} {item['name']}"
    return f"{fmt_value(item['amount'])} {item['unit']} of {item['name']}"


def _scale_run(args, r):
    factor = args["target_servings"] / args["original_servings"]
    return {"factor": round(factor, 3), "ingredients": [{"name": i["name"], "amount": round(i["amount"] * factor, 2),
                                                         "unit": i["unit"]} for i in args["ingredients"]]}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/shopping_cooking.yaml.
BEHAVIOUR = {
    "search_products": Behaviour(sample=_products_sample, run=_products_run, text_slots=lambda a: {"sort_text": SORTS.get(a.get("sort_by", "relevance"), "")}, answer_slots=lambda a, o: {"n": str(len(o["results"])), "top_name": o["results"][0]["name"],
                               "top_price": money(o["results"][0]["price"]), "top_id": o["results"][0]["product_id"],
                               "top_rating": str(o["results"][0]["rating"])}),
    "add_to_cart": Behaviour(sample=_cart_sample, run=lambda a, r: {"product_id": a["product_id"], "quantity": a.get("quantity", 1),
                      "cart_items": a.get("quantity", 1) + r.randint(0, 6), "cart_total": round(r.uniform(20, 600), 2)}),
    "track_order": Behaviour(sample=lambda r: {"order_id": code(r, "ORD")}, run=_order_run, answer_slots=lambda a, o: {"status_text": o["status"].replace("_", " ")}),
    "add_to_shopping_list": Behaviour(sample=_list_sample, run=lambda a, r: {"list_name": a.get("list_name", "groceries"), "added": len(a["items"]),
                      "total_items": len(a["items"]) + r.randint(0, 8)}, text_slots=_items_text),
    "search_recipes": Behaviour(sample=_recipes_sample, run=_recipes_run, text_slots=lambda a: {"diet_text": a.get("diet", "none").replace("_", "-")}, answer_slots=lambda a, o: {"title": o["recipes"][0]["title"], "prep": str(o["recipes"][0]["prep_minutes"]),
                               "ing": fmt_value(o["recipes"][0]["ingredients"])}),
    "get_nutrition_info": Behaviour(sample=_nutrition_sample, run=_nutrition_run),
    "scale_recipe": Behaviour(sample=_scale_sample, run=_scale_run, text_slots=lambda a: {"ing_text": fmt_value([_quantity(i) for i in a["ingredients"]])}, answer_slots=lambda a, o: {"scaled": fmt_value([_quantity(i) for i in o["ingredients"]])}),
}
