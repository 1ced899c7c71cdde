"""Synthetic functions: news and sports."""

from __future__ import annotations

from ..pools import COUNTRIES, NEWS_QUERIES, PLAYERS, TEAMS, date, pick
from ..spec import FunctionSpec, integer, maybe, params, string

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


HEADLINES = FunctionSpec(
    name="get_news_headlines", domain="news", task="fetch the latest headlines",
    description="Get the latest news headlines in a category.",
    parameters=params({"category": string("News category.", enum=NEWS_CATEGORIES)},
                      {"country": string("Country to focus on. Default: worldwide."),
                       "max_results": integer("Number of headlines.", minimum=1, maximum=20, default=3)}),
    sample=_headlines_sample,
    run=lambda a, r: {"category": a["category"], "headlines": [_headline(r, f"{a['category']} news")
                                                               for _ in range(min(a.get("max_results", 3), 5))]},
    requests=("What are today's {category} headlines?", "Give me the latest {category} news.",
              "Any {category} news?", "What's happening in {category}?"),
    extras={"country": ("Focus on {country}.", "From {country}."), "max_results": ("Just the top {max_results}.",)},
    vary="category", pair_requests=("Give me the {x1} and {x2} headlines.",),
    answers=("Top {category} headlines: {titles}.", "Here's the latest in {category}: {titles}."),
    answer_slots=lambda a, o: {"titles": "; ".join(f"\"{h['title']}\" ({h['source']})" for h in o["headlines"])},
)


def _search_news_sample(r):
    args = {"query": pick(r, NEWS_QUERIES)}
    if maybe(r, 0.3):
        args["from_date"] = date(r)
    if maybe(r, 0.3):
        args["sort_by"] = r.choice(["relevance", "newest"])
    return args


SEARCH_NEWS = FunctionSpec(
    name="search_news", domain="news", task="search news articles",
    description="Search recent news articles about a topic.",
    parameters=params({"query": string("Topic to search for.")},
                      {"from_date": string("Oldest publication date, YYYY-MM-DD."),
                       "sort_by": string("Order of results.", enum=["relevance", "newest"], default="relevance")}),
    sample=_search_news_sample,
    run=lambda a, r: {"query": a["query"], "articles": [_headline(r, a["query"]) for _ in range(r.randint(1, 3))]},
    requests=("Find news about {query}.", "Any recent articles on {query}?", "Search the news for {query}.",
              "what's the latest on {query}"),
    extras={"from_date": ("Only since {from_date}.", "Published after {from_date}."),
            "sort_by": ("Sort by {sort_by}.", "{sort_by} first.")},
    vary="query", pair_requests=("Search the news for {x1} and for {x2}.",),
    answers=("Here's what I found on {query}: {titles}.", "{n} article(s) about {query}: {titles}."),
    answer_slots=lambda a, o: {"titles": "; ".join(f"\"{h['title']}\" ({h['source']}, {h['published']})"
                                                   for h in o["articles"]), "n": str(len(o["articles"]))},
)


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


GAME_SCORE = FunctionSpec(
    name="get_game_score", domain="sports", task="get game scores",
    description="Get the score of a team's game (the most recent one unless a date is given).",
    parameters=params({"team": string("Team name."),
                       "sport": string("Sport.", enum=["basketball", "football", "baseball", "hockey"])},
                      {"date": string("Game date, YYYY-MM-DD. Default: most recent game.")}),
    sample=_score_sample, run=_score_run,
    requests=("How did the {team} do in their last {sport} game?", "What was the score of the {team} {sport} game?",
              "Did the {team} win? ({sport})", "{team} {sport} score please"),
    extras={"date": ("The game on {date}.", "I mean the one on {date}.")},
    answers=("{team} {team_score}, {opponent} {opponent_score} (final, {date}).",
             "The {team} {outcome} the {opponent} {team_score}-{opponent_score}."),
    answer_slots=lambda a, o: {"outcome": "beat" if o["team_score"] > o["opponent_score"] else
                               "tied with" if o["team_score"] == o["opponent_score"] else "lost to"},
)


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


STANDINGS = FunctionSpec(
    name="get_league_standings", domain="sports", task="show league standings",
    description="Get the current table of a sports league.",
    parameters=params({"league": string("League.", enum=list(LEAGUES))},
                      {"season": string("Season such as '2024-25'. Default: current season.")}),
    sample=_standings_sample, run=_standings_run,
    requests=("Show me the {league} standings.", "Who's top of the {league}?", "What does the {league} table look like?",
              "{league} table please"),
    extras={"season": ("For the {season} season.", "Season {season}.")},
    vary="league", pair_requests=("Show me the {x1} and {x2} tables.",),
    answers=("{league} {season}: {table_text}.", "{leader} lead the {league} ({table_text})."),
    answer_slots=lambda a, o: {"leader": o["table"][0]["team"],
                               "table_text": ", ".join(f"{t['position']}. {t['team']} ({t['points']} pts)"
                                                       for t in o["table"])},
)


def _player_sample(r):
    args = {"player": r.choice(PLAYERS)}
    if maybe(r, 0.4):
        args["season"] = r.choice(SEASONS)
    return args


def _player_run(args, r):
    return {"player": args["player"], "season": args.get("season", SEASONS[-1]), "games": r.randint(20, 80),
            "points_per_game": round(r.uniform(0.3, 30), 1), "rating": round(r.uniform(6, 9.5), 1)}


PLAYER_STATS = FunctionSpec(
    name="get_player_stats", domain="sports", task="look up player statistics",
    description="Get a player's season statistics.",
    parameters=params({"player": string("Player's full name.")},
                      {"season": string("Season such as '2024-25'. Default: current season.")}),
    sample=_player_sample, run=_player_run,
    requests=("What are {player}'s stats?", "How is {player} playing?", "Stats for {player}, please.",
              "Give me {player}'s numbers."),
    extras={"season": ("For {season}.", "In the {season} season.")},
    vary="player", pair_requests=("Compare the stats of {x1} and {x2}.",),
    answers=("{player} ({season}): {games} games, {points_per_game} points per game, rating {rating}.",
             "In {season}, {player} averaged {points_per_game} over {games} games."),
)

FUNCTIONS = [HEADLINES, SEARCH_NEWS, GAME_SCORE, STANDINGS, PLAYER_STATS]
