"""Synthetic functions: music, speakers and cinema."""

from __future__ import annotations

from ..pools import ARTISTS, CITIES, GENRES, PLAYLIST_NAMES, SONGS, clock, date, pick
from ..spec import Behaviour, maybe

MOVIES = ["The Last Orbit", "Midnight in Marrakesh", "Paper Tigers", "A Quiet Harbor", "Neon Valley",
          "The Clockmaker's Daughter", "Wild Frontier", "Echoes of Tomorrow"]
CINEMAS = ["Odeon", "Cineplex", "Regal", "Pathé", "Grand Cinema", "Roxy"]
DEVICES = ["kitchen speaker", "living room speaker", "bedroom speaker", "headphones", "car"]


def _play_sample(r):
    kind = r.choice(["song", "artist", "genre", "playlist"])
    query = {"song": lambda: pick(r, SONGS), "artist": lambda: pick(r, ARTISTS), "genre": lambda: pick(r, GENRES),
             "playlist": lambda: pick(r, PLAYLIST_NAMES)}[kind]()
    args = {"query": query, "type": kind}
    if kind != "song" and maybe(r, 0.3):
        args["shuffle"] = True
    if maybe(r, 0.2):
        args["device"] = r.choice(DEVICES)
    return args


def _play_run(args, r):
    kind, query = args["type"], args["query"]
    track = query if kind == "song" else r.choice([s for s, a in SONGS.items() if a == query] or list(SONGS))
    return {"now_playing": track, "artist": SONGS.get(track, "Various artists"), "source": f"{kind}: {query}",
            "device": args.get("device", "phone"), "shuffle": args.get("shuffle", False)}


def _playlist_sample(r):
    songs = r.sample(list(SONGS), r.randint(2, 4))
    args = {"name": pick(r, PLAYLIST_NAMES), "songs": songs}
    if maybe(r, 0.3):
        args["public"] = maybe(r, 0.5)
    return args


def _showtimes_sample(r):
    args = {"movie": r.choice(MOVIES), "city": pick(r, CITIES)}
    if maybe(r, 0.5):
        args["date"] = date(r)
    if maybe(r, 0.2):
        args["format"] = r.choice(["2D", "3D", "IMAX"])
    return args


def _showtimes_run(args, r):
    times = sorted({clock(r, first_hour=12, last_hour=22) for _ in range(r.randint(2, 4))})
    return {"movie": args["movie"], "cinema": f"{r.choice(CINEMAS)} {args['city']}", "date": args.get("date", "today"),
            "format": args.get("format", "2D"), "showtimes": times, "ticket_price": round(r.uniform(9, 19), 2)}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/media.yaml.
BEHAVIOUR = {
    "play_music": Behaviour(sample=_play_sample, run=_play_run, text_slots=lambda a: {"query_text": {"song": f"the song {a['query']}", "artist": f"some {a['query']}",
                                         "genre": f"some {a['query']} music",
                                         "playlist": f"my {a['query']} playlist"}[a["type"]]}),
    "create_playlist": Behaviour(sample=_playlist_sample, run=lambda a, r: {"playlist_id": f"pl-{r.randint(1000, 9999)}", "name": a["name"], "tracks": len(a["songs"]),
                      "public": a.get("public", False)}, text_slots=lambda a: {"visibility": "public" if a.get("public") else "private"}, answer_slots=lambda a, o: {"visibility": "public" if o["public"] else "private"}),
    "set_volume": Behaviour(sample=lambda r: {"level": r.choice((0, 10, 20, 25, 35, 40, 50, 60, 70, 80, 100)),
                      **({"device": r.choice(DEVICES)} if maybe(r, 0.4) else {})}, run=lambda a, r: {"device": a.get("device", "phone"), "volume": a["level"], "previous_volume": r.randint(0, 100)}),
    "find_movie_showtimes": Behaviour(sample=_showtimes_sample, run=_showtimes_run, answer_slots=lambda a, o: {"times": ", ".join(o["showtimes"])}),
}
