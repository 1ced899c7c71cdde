"""Synthetic functions: news and sports."""

from __future__ import annotations

from ..pools import COUNTRIES, NEWS_QUERIES, PLAYERS, TEAMS, date, pick
from ..spec import Behaviour, maybe

NEWS_CATEGORIES = ["world", "business", "technology", "science", "health", "sports", "entertainment"]
HEADLINE_PATTERNS = ["New report on {t} draws wide attention", "Experts debate the future of {t}",
                     "{T}: what changed this week", "Officials announce plan on {t}", "Five things to know about {t}",
                     "Investors watch {t} closely", "Researchers publish new findings on {t}"]
SOURCES = ["Daily Ledger", "Global Wire", "Morning Post", "Metro Times", "The Observer Weekly"]
LEAGUES = {"NBA": "basketball", "Premier League": "football", "La Liga": "football", "MLB": "baseball", "NHL": "hockey",
           "Bundesliga": "football"}
LEAGUE_TEAMS = {"NBA": TEAMS["basketball"], "MLB": TEAMS["baseball"], "NHL": TEAMS["hockey"],
                "Premier League": ["Arsenal", "Liverpool", "Chelsea", "Manchester City", "Tottenham"],
                "La Liga": ["Real Madrid", "Barcelona", "Atletico Madrid", "Sevilla"],
                "Bundesliga": ["Bayern Munich", "Dortmund", "Leverkusen", "Leipzig"]}
SEASONS = ["2022-23", "2023-24", "2024-25"]


def _headline(r, topic: str) -> dict:
    pattern = r.choice(HEADLINE_PATTERNS)
    return {"title": pattern.format(t=topic, T=topic.capitalize()), "source": r.choice(SOURCES),
            "published": date(r, start_offset=100, span=60)}


def _headlines_sample(r):
    args = {"category": r.choice(NEWS_CATEGORIES)}
    if maybe(r, 0.35):
        args["country"] = pick(r, COUNTRIES)
    if maybe(r, 0.3):
        args["max_results"] = r.randint(2, 5)
    return args


def _search_news_sample(r):
    args = {"query": pick(r, NEWS_QUERIES)}
    if maybe(r, 0.3):
        args["from_date"] = date(r)
    if maybe(r, 0.3):
        args["sort_by"] = r.choice(["relevance", "newest"])
    return args


def _score_sample(r):
    sport = r.choice(list(TEAMS))
    args = {"team": r.choice(TEAMS[sport]), "sport": sport}
    if maybe(r, 0.4):
        args["date"] = date(r)
    return args


def _score_run(args, r):
    opponents = [t for t in TEAMS.get(args["sport"], []) if t != args["team"]] or ["Visitors"]
    hi = {"basketball": 120, "football": 4, "baseball": 9, "hockey": 5}.get(args["sport"], 5)
    lo = hi - 25 if args["sport"] == "basketball" else 0
    mine, theirs = r.randint(max(lo, 0), hi), r.randint(max(lo, 0), hi)
    return {"team": args["team"], "opponent": r.choice(opponents), "team_score": mine, "opponent_score": theirs,
            "date": args.get("date", "most recent game"), "status": "final"}


def _standings_sample(r):
    args = {"league": pick(r, LEAGUES)}
    if maybe(r, 0.4):
        args["season"] = r.choice(SEASONS)
    return args


def _standings_run(args, r):
    teams = list(LEAGUE_TEAMS.get(args["league"], ["Team A", "Team B", "Team C"]))
    r.shuffle(teams)
    games = r.randint(20, 38)
    table, points = [], r.randint(60, 95)
    for i, team in enumerate(teams[:4]):
        table.append({"position": i + 1, "team": team, "points": points})
        points -= r.randint(1, 8)
    return {"league": args["league"], "season": args.get("season", SEASONS[-1]), "games_played": games,
            "table": table}


def _player_sample(r):
    args = {"player": r.choice(PLAYERS)}
    if maybe(r, 0.4):
        args["season"] = r.choice(SEASONS)
    return args


def _player_run(args, r):
    return {"player": args["player"], "season": args.get("season", SEASONS[-1]), "games": r.randint(20, 80),
            "points_per_game": round(r.uniform(0.3, 30), 1), "rating": round(r.uniform(6, 9.5), 1)}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/news_sports.yaml.
BEHAVIOUR = {
    "get_news_headlines": Behaviour(sample=_headlines_sample, run=lambda a, r: {"category": a["category"], "headlines": [_headline(r, f"{a['category']} news")
                                                               for _ in range(min(a.get("max_results", 3), 5))]}, answer_slots=lambda a, o: {"titles": "; ".join(f"\"{h['title']}\" ({h['source']})" for h in o["headlines"])}),
    "search_news": Behaviour(sample=_search_news_sample, run=lambda a, r: {"query": a["query"], "articles": [_headline(r, a["query"]) for _ in range(r.randint(1, 3))]}, answer_slots=lambda a, o: {"titles": "; ".join(f"\"{h['title']}\" ({h['source']}, {h['published']})"
                                                   for h in o["articles"]), "n": str(len(o["articles"]))}),
    "get_game_score": Behaviour(sample=_score_sample, run=_score_run, answer_slots=lambda a, o: {"outcome": "beat" if o["team_score"] > o["opponent_score"] else
                               "tied with" if o["team_score"] == o["opponent_score"] else "lost to"}),
    "get_league_standings": Behaviour(sample=_standings_sample, run=_standings_run, answer_slots=lambda a, o: {"leader": o["table"][0]["team"],
                               "table_text": ", ".join(f"{t['position']}. {t['team']} ({t['points']} pts)"
                                                       for t in o["table"])}),
    "get_player_stats": Behaviour(sample=_player_sample, run=_player_run),
}
