"""Synthetic functions: music, speakers and cinema."""

from __future__ import annotations

from ..pools import ARTISTS, CITIES, GENRES, PLAYLIST_NAMES, SONGS, clock, date, pick
from ..spec import FunctionSpec, array, boolean, integer, maybe, params, string

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


PLAY_MUSIC = FunctionSpec(
    name="play_music", domain="music", task="play music",
    description="Play a song, an artist, a genre or a playlist on a speaker.",
    parameters=params({"query": string("What to play."),
                       "type": string("What the query names.", enum=["song", "artist", "genre", "playlist"])},
                      {"shuffle": boolean("Shuffle playback.", default=False),
                       "device": string("Where to play.", enum=DEVICES, default="phone")}),
    sample=_play_sample, run=_play_run,
    requests=("Play {query_text}.", "Put on {query_text}, please.", "Can you play {query_text}?",
              "I want to listen to {query_text}."),
    text_slots=lambda a: {"query_text": {"song": f"the song {a['query']}", "artist": f"some {a['query']}",
                                         "genre": f"some {a['query']} music",
                                         "playlist": f"my {a['query']} playlist"}[a["type"]]},
    extras={"shuffle": ("Shuffle it.", "On shuffle."), "device": ("On the {device}.", "Use the {device}.")},
    answers=("Now playing {now_playing} by {artist} on your {device}.", "Playing {now_playing} ({artist})."),
)


def _playlist_sample(r):
    songs = r.sample(list(SONGS), r.randint(2, 4))
    args = {"name": pick(r, PLAYLIST_NAMES), "songs": songs}
    if maybe(r, 0.3):
        args["public"] = maybe(r, 0.5)
    return args


PLAYLIST = FunctionSpec(
    name="create_playlist", domain="music", task="create playlists",
    description="Create a new playlist with the given songs.",
    parameters=params({"name": string("Playlist name."), "songs": array(string("Song title."), "Songs to add.", max_items=200)},
                      {"public": boolean("Visible to other users.", default=False)}),
    sample=_playlist_sample,
    run=lambda a, r: {"playlist_id": f"pl-{r.randint(1000, 9999)}", "name": a["name"], "tracks": len(a["songs"]),
                      "public": a.get("public", False)},
    requests=("Make a playlist called {name} with {songs}.", "Create a '{name}' playlist: {songs}.",
              "New playlist {name}, add {songs}."),
    extras={"public": ("Make it {visibility}.", "It should be {visibility}.")},
    text_slots=lambda a: {"visibility": "public" if a.get("public") else "private"},
    answers=("Your playlist '{name}' is ready with {tracks} songs.", "Created {name} ({tracks} tracks, {visibility})."),
    answer_slots=lambda a, o: {"visibility": "public" if o["public"] else "private"},
)

VOLUME = FunctionSpec(
    name="set_volume", domain="music", task="change the speaker volume",
    description="Set the playback volume of a device.",
    parameters=params({"level": integer("Volume in percent.", minimum=0, maximum=100)},
                      {"device": string("Which device.", enum=DEVICES, default="phone")}),
    sample=lambda r: {"level": r.choice((0, 10, 20, 25, 35, 40, 50, 60, 70, 80, 100)),
                      **({"device": r.choice(DEVICES)} if maybe(r, 0.4) else {})},
    run=lambda a, r: {"device": a.get("device", "phone"), "volume": a["level"], "previous_volume": r.randint(0, 100)},
    requests=("Set the volume to {level}%.", "Volume {level} percent please.", "Change the volume to {level}.",
              "turn it to {level}% volume"),
    extras={"device": ("On the {device}.", "For the {device}.")},
    answers=("The {device} volume is now {volume}% (was {previous_volume}%).", "Volume set to {volume}%."),
)


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


SHOWTIMES = FunctionSpec(
    name="find_movie_showtimes", domain="movies", task="find cinema showtimes",
    description="Find cinema showtimes for a movie in a city.",
    parameters=params({"movie": string("Movie title."), "city": string("City.")},
                      {"date": string("Day, YYYY-MM-DD. Default: today."),
                       "format": string("Screening format.", enum=["2D", "3D", "IMAX"], default="2D")}),
    sample=_showtimes_sample, run=_showtimes_run,
    requests=("When is {movie} playing in {city}?", "Showtimes for {movie} in {city}, please.",
              "Where can I watch {movie} in {city}?", "Is {movie} showing in {city} on {date}?"),
    extras={"date": ("On {date}.", "I want to go on {date}."), "format": ("In {format}.", "{format} if possible.")},
    vary="city", pair_requests=("Is {movie} playing in {x1} or {x2}?",),
    answers=("{movie} plays at {cinema} at {times} ({format}, ${ticket_price}).",
             "Showtimes at {cinema}: {times}."),
    answer_slots=lambda a, o: {"times": ", ".join(o["showtimes"])},
)

FUNCTIONS = [PLAY_MUSIC, PLAYLIST, VOLUME, SHOWTIMES]
