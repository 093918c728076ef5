"""Sample data lake: writes song and log files shaped exactly like ``s3://udacity-dend/``.

See ``../shared/DATA.md`` (and the README) for the shape. The output is deterministic: the same
parameters and seed give byte-identical files. Log files are written one day at a time and song
files one at a time, so memory stays bounded at any size. A ``generator_manifest.json`` beside
the data (outside the ``song_data``/``log_data`` prefixes, so no COPY ever reads it) records the
parameters and what was written, for tests and benchmarks to compare against.

Presets:
  udacity  the real set's size and proportions: ~8,000 events over 30 days, ~100 users, ~15,000
           songs, a sparse join (about 5% of plays are catalog songs).
  demo     the same shape, smaller catalog, and most plays resolve to catalog songs, so that every
           chart of the reports means something. The default of the local backend.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import datetime as dt
import heapq
import itertools
import json
import math
import random
import re
import shutil
import string
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import awsclient

FORMAT_VERSION = 2  # bumped whenever the same parameters would write different files

LOG_KEYS = ["artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
            "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId"]


@dataclass(frozen=True)
class Params:
    seed: int = 42
    first_day: str = "2018-11-01"
    days: int = 30
    events: int = 8000  # total log events (all pages), about 85% NextSong
    users: int = 100
    songs: int = 15000  # catalog size (song files)
    artists: int = 9500
    played_songs: int = 5200  # distinct songs appearing in the logs
    catalog_share: float = 0.05  # share of plays whose song is in the catalog
    misencoded_share: float = 0.05  # share of NextSong events with mis-encoded artist/song text
    duration_mismatch_share: float = 0.1  # share of catalog plays whose logged length differs
    logged_out_share: float = 0.03  # share of events made while logged out

    def validate(self) -> None:
        for name in ("days", "events", "users", "songs", "artists", "played_songs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("catalog_share", "misencoded_share", "duration_mismatch_share", "logged_out_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie between 0 and 1, got {getattr(self, name)}")
        dt.date.fromisoformat(self.first_day)


PRESETS = {
    "udacity": Params(),
    "demo": Params(events=12000, songs=2000, artists=900, played_songs=1500, catalog_share=0.9),
}

# Real browser strings (as in the Sparkify logs); weights give roughly Chrome 57%, Firefox 23%,
# Safari 19%, IE under 1%. Most are wrapped in literal double quotes, as in the real logs.
USER_AGENTS = [
    ('"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"', 20),
    ('"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.125 Safari/537.36"', 14),
    ('"Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"', 10),
    ('"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36"', 5),
    ("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36", 8),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0", 12),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0", 6),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0", 5),
    ('"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 (KHTML, like Gecko) Version/7.0.5 Safari/537.77.4"', 12),
    ('"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"', 7),
    ('"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)"', 1),
]
FIRST_NAMES = ["Lily", "Kate", "Jacob", "Chloe", "Tegan", "Aleena", "Ryan", "Jayden", "Mohammad", "Matthew", "Layla",
               "Jordan", "Ava", "Sara", "Walter", "Rylan", "Kinsley", "Jacqueline", "Cienna", "Anabelle", "Noah",
               "Elijah", "Emily", "Harper", "Avery", "Aiden", "Hannah", "Sophie", "Brayden", "Colm", "Zoé", "Jonás"]
LAST_NAMES = ["Koch", "Harrell", "Klein", "Cuevas", "Levine", "Kirby", "Smith", "Taylor", "Rodriguez", "Owens",
              "Griffin", "Morales", "Robinson", "Frye", "George", "Freeman", "Lynch", "Bailey", "Henry", "Rose",
              "Williams", "Jones", "Brown", "Garcia", "Muñoz", "Perry", "Stewart", "Hogan", "Lambert", "Olsen"]
CITIES = ["San Francisco-Oakland-Hayward, CA", "Chicago-Naperville-Elgin, IL-IN-WI", "Lansing-East Lansing, MI",
          "Atlanta-Sandy Springs-Roswell, GA", "New York-Newark-Jersey City, NY-NJ-PA", "Portland-South Portland, ME",
          "Waterloo-Cedar Falls, IA", "Tampa-St. Petersburg-Clearwater, FL", "Phoenix-Mesa-Scottsdale, AZ",
          "Houston-The Woodlands-Sugar Land, TX", "Birmingham-Hoover, AL", "Janesville-Beloit, WI",
          "Red Bluff, CA", "Eugene, OR", "Yuba City, CA", "Elkhart-Goshen, IN", "Nashville-Davidson--Murfreesboro--Franklin, TN",
          "Salinas, CA", "Tucson, AZ", "Winston-Salem, NC", "Detroit-Warren-Dearborn, MI", "Columbia, SC"]
ARTIST_PLACES = ["Chicago, IL", "London, England", "Detroit, MI", "Reykjavík, Iceland", "New York, NY",
                 "Los Angeles, CA", "Kingston, Jamaica", "Paris, France", "São Paulo, Brazil", "Hamburg, Germany",
                 "Memphis, TN", "Nashville, TN", "Stockholm, Sweden", "Manchester, England", "Montréal, Québec"]
SYLLABLES = ["la", "mo", "ri", "ta", "ven", "dor", "shi", "ka", "nu", "bel", "tro", "mi", "sa", "zen", "ro", "ly",
             "quin", "der", "ax", "fol", "gra", "pe", "lo", "vi", "cor", "son", "ha", "ne", "tu", "bra"]
ACCENTED = ["ö", "é", "á", "ñ", "ü", "ø", "í", "ó", "å", "ç"]
WORDS = ["Love", "Night", "Heart", "Fire", "Rain", "Dance", "Blue", "Dream", "Time", "Home", "Road", "Light", "Song",
         "Girl", "Money", "Summer", "Sky", "Gold", "River", "Shadow", "Midnight", "Angel", "Stars", "Rock", "Soul",
         "City", "Baby", "Heaven", "Wild", "Broken", "Forever", "Ghost", "Electric", "Sweet", "Lonely", "Crazy"]
HOUR_WEIGHTS = [2, 1.5, 1.2, 1, 1, 1.2, 1.8, 2.5, 3.5, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 8, 7, 6, 5, 4, 3]
SIDE_PAGES = [("Home", 40), ("Settings", 6), ("Help", 5), ("About", 3), ("Error", 1), ("Save Settings", 2)]
HOUR_CUM = list(itertools.accumulate(HOUR_WEIGHTS))
SIDE_CUM = list(itertools.accumulate(w for _, w in SIDE_PAGES))


def misencode(text: str) -> str:
    """UTF-8 read as Latin-1 and encoded again, twice: 'Björk' -> 'BjÃ\\x83Â¶rk' (as in the real logs)."""
    return text.encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1")


class _Ids:
    ALPHABET = string.ascii_uppercase + string.digits

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, prefix: str, folder_chars: bool = False) -> str:
        while True:
            if folder_chars:  # the real subset: 3rd char A, 4th A or B, 5th A-Z
                head = "A" + self.rng.choice("AB") + self.rng.choice(string.ascii_uppercase)
                ident = prefix + head + "".join(self.rng.choices(self.ALPHABET, k=13))
            else:
                ident = prefix + "".join(self.rng.choices(self.ALPHABET, k=16))
            if ident not in self.seen:
                self.seen.add(ident)
                return ident


def _name(rng: random.Random, accented: bool) -> str:
    words = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        word = "".join(rng.choices(SYLLABLES, k=rng.choice([1, 2, 2, 3]))).capitalize()
        words.append(word)
    name = " ".join(words)
    if accented:
        pos = rng.randrange(1, max(2, len(name)))
        name = name[:pos] + rng.choice(ACCENTED) + name[pos + 1:]
    return name


def _title(rng: random.Random, accented: bool) -> str:
    roll = rng.random()
    if roll < 0.01:
        return str(rng.randint(1000, 2020))  # numeric-looking titles such as "1888"
    words = rng.sample(WORDS, rng.choice([1, 2, 2, 3, 4]))
    title = " ".join(words)
    if roll < 0.05:
        title = f"{title} ({rng.choice(['Album Version', 'Live', 'Remix', 'LP Version'])})"
    if accented:
        title += f" {_name(rng, True)}"
    return title


@dataclass
class Song:
    song_id: str
    track_id: str
    title: str
    duration: float
    year: int
    artist_index: int


@dataclass
class Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


def _catalog(p: Params, rng: random.Random) -> tuple[list[Artist], list[Song], dict[int, dict]]:
    ids = _Ids(rng)
    artists = []
    for i in range(p.artists):
        location = "" if rng.random() < 0.45 else rng.choice(ARTIST_PLACES)
        has_coords = rng.random() >= 0.65
        artists.append(Artist(ids.make("AR"), _name(rng, rng.random() < 0.15) + (" Band" if i % 17 == 0 else ""),
                              location, round(rng.uniform(-40, 65), 5) if has_coords else None,
                              round(rng.uniform(-125, 30), 5) if has_coords else None))
    if p.artists > 3:  # one rare location longer than 256 characters: an HTML fragment
        artists[3].location = ('<a href="http://example.com/artist/bio" target="_blank">' + "Born and raised in "
                               + ", ".join(ARTIST_PLACES) + "</a>")[:420]
    songs = []
    for i in range(p.songs):
        artist_index = i if i < p.artists else rng.randrange(p.artists)
        duration = round(min(2700.0, max(6.0, rng.lognormvariate(5.4, 0.35))), 5)
        songs.append(Song(ids.make("SO"), ids.make("TR", folder_chars=True), _title(rng, rng.random() < 0.12),
                          duration, 0 if rng.random() < 1 / 3 else rng.randint(1927, 2010), artist_index))
    # quirks the catalog really has
    overrides: dict[int, dict] = {}  # song index -> attributes of the artist as written on that song
    for i in range(0, min(p.songs, p.artists), 97):  # artists whose attributes disagree across songs
        other = next((j for j in range(p.artists, p.songs) if songs[j].artist_index == songs[i].artist_index), None)
        if other is not None:
            artist = artists[songs[i].artist_index]
            overrides[other] = {"artist_name": f"{artist.name} featuring {_name(rng, False)}",
                                "artist_location": rng.choice(ARTIST_PLACES), "artist_latitude": None,
                                "artist_longitude": None}
    for i in range(5, p.songs, 211):  # titles with edge spaces
        songs[i].title = rng.choice([" ", "  "]) + songs[i].title if i % 2 else songs[i].title + " "
    for i in range(7, p.songs - 1, 499):  # a (title, artist) pair on two different songs
        twin = songs[i + 1]
        twin.title, twin.artist_index = songs[i].title, songs[i].artist_index
        twin.duration = round(songs[i].duration + rng.uniform(5, 40), 5)
        overrides.pop(i + 1, None)
    return artists, songs, overrides


def _song_document(song: Song, artist: Artist, override: dict | None) -> bytes:
    doc = {"num_songs": 1, "artist_id": artist.artist_id, "artist_latitude": artist.latitude,
           "artist_longitude": artist.longitude, "artist_location": artist.location, "artist_name": artist.name,
           "song_id": song.song_id, "title": song.title, "duration": song.duration, "year": song.year}
    if override:
        doc.update(override)
    # the real files: Python-style separators, non-ASCII as \uXXXX, one line, no trailing newline
    return json.dumps(doc, ensure_ascii=True).encode("ascii")


_C1 = re.compile(rb"\xc2([\x80-\x9f])")


def _log_line(event: dict) -> bytes:
    line = orjson.dumps(event).replace(b"/", b"\\/")
    if b"\xc2" in line:  # C1 control characters are written as \u00XX, as in the real logs
        line = _C1.sub(lambda m: b"\\u00%02x" % m.group(1)[0], line)
    return line


class _Writer:
    """Writes files under a local directory or an s3://bucket/prefix."""

    def __init__(self, out: str, endpoint_url: str = "", region: str = "us-west-2") -> None:
        self.out = out.rstrip("/")
        self.s3 = None
        if out.startswith("s3://"):
            self.bucket, _, self.prefix = out[len("s3://"):].partition("/")
            self.prefix = self.prefix.strip("/")
            self.s3 = awsclient.client("s3", endpoint_url=endpoint_url, region=region)
        else:
            Path(self.out).mkdir(parents=True, exist_ok=True)

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def write(self, rel: str, data: bytes) -> None:
        if self.s3 is not None:
            self.s3.put_object(Bucket=self.bucket, Key=self._key(rel), Body=data)
            return
        path = Path(self.out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def write_lines(self, rel: str, lines: Iterator[bytes]) -> int:
        """Stream lines to a file joined by \\n (no final newline); returns the number written."""
        count = 0
        if self.s3 is not None:
            with tempfile.TemporaryFile() as tmp:
                count = self._stream(tmp, lines)
                tmp.seek(0)
                self.s3.upload_fileobj(tmp, self.bucket, self._key(rel))
            return count
        path = Path(self.out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb", buffering=1 << 20) as handle:
            return self._stream(handle, lines)

    @staticmethod
    def _stream(handle, lines: Iterator[bytes]) -> int:
        count = 0
        batch: list[bytes] = []
        for line in lines:
            batch.append(line)
            if len(batch) == 4096:
                handle.write((b"\n" if count else b"") + b"\n".join(batch))
                count += len(batch)
                batch = []
        if batch:
            handle.write((b"\n" if count else b"") + b"\n".join(batch))
            count += len(batch)
        return count

    def location(self, rel: str) -> str:
        return f"{self.out}/{rel}"


def generate(out: str, params: Params | None = None, *, endpoint_url: str = "", region: str = "us-west-2",
             progress: bool = False) -> dict:
    """Write a data lake to ``out`` (a directory or s3://bucket/prefix); returns the manifest."""
    p = params or PRESETS["demo"]
    p.validate()
    started = time.perf_counter()
    rng = random.Random(p.seed)
    writer = _Writer(out, endpoint_url, region)
    if writer.s3 is None:  # a fresh lake: stale files would change what a prefix matches
        for sub in ("song_data", "log_data"):
            shutil.rmtree(Path(out) / sub, ignore_errors=True)

    artists, songs, overrides = _catalog(p, rng)
    for index, song in enumerate(songs):
        tid = song.track_id
        writer.write(f"song_data/{tid[2]}/{tid[3]}/{tid[4]}/{tid}.json",
                     _song_document(song, artists[song.artist_index], overrides.get(index)))

    # What the logs play: catalog songs (as the catalog names them) and songs from elsewhere.
    n_catalog = max(1, round(p.played_songs * p.catalog_share)) if p.catalog_share > 0 else 0
    n_catalog = min(n_catalog, p.songs)
    n_outside = max(0, p.played_songs - n_catalog)
    played: list[tuple[str, str, float, bool]] = []  # (title, artist name, duration, in catalog)
    for song in rng.sample(songs, n_catalog):
        played.append((song.title.strip(), artists[song.artist_index].name, song.duration, True))
    for _ in range(n_outside):
        played.append((_title(rng, rng.random() < 0.15), _name(rng, rng.random() < 0.15),
                       round(min(2700.0, max(6.0, rng.lognormvariate(5.4, 0.35))), 5), False))
    rng.shuffle(played)
    # Long-tailed popularity: Zipf-like weights (offset, so the head is not one song) over the
    # shuffled songs; catalog and outside songs are drawn separately so each gets its share of plays.
    zipf = [1.0 / (rank + 30) for rank in range(len(played))]  # top song: a few dozen plays a month
    weights_in = [w if s[3] else 0.0 for w, s in zip(zipf, played, strict=True)]
    weights_out = [w if not s[3] else 0.0 for w, s in zip(zipf, played, strict=True)]
    cum_in = _cumulative(weights_in)
    cum_out = _cumulative(weights_out)

    users = _users(p, rng)
    accented = [i for i, s in enumerate(played) if not (s[0] + s[1]).isascii()]
    accented_by_class = {True: [i for i in accented if played[i][3]], False: [i for i in accented if not played[i][3]]}
    day0 = dt.datetime.fromisoformat(p.first_day).replace(tzinfo=dt.timezone.utc)
    events_per_day = _split(p.events, p.days, rng)
    stats = {"events": 0, "nextsong_events": 0, "catalog_plays": 0, "misencoded_plays": 0,
             "logged_out_events": 0, "duration_mismatches": 0, "identified_users": set(),
             "pages": collections.Counter(),
             "log_files": 0, "accented": accented_by_class, "resolvable_plays": 0, "resolvable": [],
             "catalog_keys": {(song.title.strip(), overrides.get(i, {}).get("artist_name",
                                                                          artists[song.artist_index].name).strip())
                              for i, song in enumerate(songs)}}
    stats["resolvable"] = [(s[0].strip(), s[1].strip()) in stats["catalog_keys"] for s in played]
    session_counter = [0]
    for day in range(p.days):
        date = day0 + dt.timedelta(days=day)
        lines = _day_events(p, rng, date, events_per_day[day], users, played, cum_in, cum_out, stats,
                            session_counter)
        writer.write_lines(f"log_data/{date:%Y}/{date:%m}/{date:%Y-%m-%d}-events.json", lines)
        stats["log_files"] += 1
    jsonpaths = {"jsonpaths": [f"$['{key}']" for key in LOG_KEYS]}
    writer.write("log_json_path.json", json.dumps(jsonpaths, indent=4).encode())

    manifest = {
        "format_version": FORMAT_VERSION,
        "params": dataclasses.asdict(p),
        "song_files": len(songs),
        "artists": len({artists[s.artist_index].artist_id for s in songs}),
        "log_files": stats["log_files"],
        "events": stats["events"],
        "nextsong_events": stats["nextsong_events"],
        "catalog_plays": stats["catalog_plays"],
        "resolvable_plays": stats["resolvable_plays"],
        "misencoded_plays": stats["misencoded_plays"],
        "logged_out_events": stats["logged_out_events"],
        "duration_mismatches": stats["duration_mismatches"],
        "identified_users": len(stats["identified_users"]),
        "pages": dict(sorted(stats["pages"].items())),
        "log_data": writer.location("log_data"),
        "song_data": writer.location("song_data"),
        "log_jsonpath": writer.location("log_json_path.json"),
        "seconds": round(time.perf_counter() - started, 3),
    }
    # the file is part of the lake: it holds no paths or timings, so equal parameters give equal bytes
    body = {k: v for k, v in manifest.items() if k not in ("seconds", "log_data", "song_data", "log_jsonpath")}
    writer.write("generator_manifest.json", json.dumps(body, indent=2, sort_keys=True).encode())
    return manifest


def _pick(cumulative: list[float], rng: random.Random) -> int:
    """An index drawn with the weights behind ``cumulative`` (rng.choices without its overhead)."""
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    shares = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    scale = total / sum(shares)
    counts = [int(s * scale) for s in shares]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


@dataclass
class _User:
    user_id: str
    first: str
    last: str
    gender: str
    location: str
    agent: str
    registration: float
    level: str
    changes: int  # remaining level changes this month


def _users(p: Params, rng: random.Random) -> list[_User]:
    agents = [a for a, _ in USER_AGENTS]
    weights = [w for _, w in USER_AGENTS]
    ids = rng.sample(range(2, max(102, p.users * 3)), p.users)
    users = []
    for uid in sorted(ids):
        users.append(_User(str(uid), rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice("FM"),
                           rng.choice(CITIES), rng.choices(agents, weights)[0],
                           float(rng.randint(1_529_000_000_000, 1_541_000_000_000)),
                           "paid" if rng.random() < 0.25 else "free", 2 if rng.random() < 0.1 else 0))
    return users


def _day_events(p: Params, rng: random.Random, date: dt.datetime, n_events: int, users: list[_User],
                played: list, cum_in: list[float], cum_out: list[float], stats: dict,
                session_counter: list[int]) -> Iterator[bytes]:
    """One day's events in time order, as log lines."""
    sessions = []
    remaining = n_events
    while remaining > 0:
        size = min(remaining, max(1, int(rng.expovariate(1 / 18)) + 1))
        sessions.append(size)
        remaining -= size
    day_start = int(date.timestamp() * 1000)
    starts = sorted(day_start + int((_pick(HOUR_CUM, rng) + rng.random()) * 3_600_000) for _ in sessions)
    user_cum = _cumulative([1.0 / (i + 1) ** 0.6 for i in range(len(users))])  # a few heavy listeners
    # Sessions are made in order of their start; an event is written once no session still to come can
    # precede it (every later session starts at or after this one), so only the events of sessions that
    # overlap in time are held, whatever the size of the day.
    pending: list[tuple[int, int, bytes]] = []  # a heap of (ts, order, encoded line)
    for size, start in zip(sessions, starts, strict=True):
        while pending and pending[0][0] < start:
            yield heapq.heappop(pending)[2]
        session_counter[0] += 1
        user = users[_pick(user_cum, rng)]
        for event in _session(p, rng, session_counter[0], user, start, size, played, cum_in, cum_out, stats):
            heapq.heappush(pending, event)
    while pending:
        yield heapq.heappop(pending)[2]


def _session(p, rng, session_id, user, ts, size, played, cum_in, cum_out, stats):
    p_accented = stats["accented"]
    resolvable = stats["resolvable"]
    random_ = rng.random
    item = 0
    out = []
    pages = []
    plays = catalog_plays = resolved = 0
    logged_out = 0
    if rng.random() < p.logged_out_share * 8:  # some sessions start logged out
        logged_out = min(size - 1, rng.choice([1, 2])) if size > 1 else 0
    for i in range(size):
        if i < logged_out:
            page = "Home" if i == 0 else "Login"
            if i == 0 and rng.random() < 0.3:
                page = rng.choice(["About", "Help"])
            event = {"artist": None, "auth": "Logged Out", "firstName": None, "gender": None, "itemInSession": item,
                     "lastName": None, "length": None, "level": user.level, "location": None,
                     "method": "PUT" if page == "Login" else "GET", "page": page, "registration": None,
                     "sessionId": session_id, "song": None, "status": 307 if page == "Login" else 200, "ts": ts,
                     "userAgent": None, "userId": ""}
            stats["logged_out_events"] += 1
            ts += 1000 + int(random_() * 19001)
        else:
            page, method, status = "NextSong", "PUT", 200
            roll = random_()
            if i == size - 1 and size > 3 and roll < 0.25:
                page, status = "Logout", 307
            elif user.changes and roll < 0.05:
                page = "Submit Upgrade" if user.level == "free" else "Submit Downgrade"
                status = 307
            elif roll < 0.15:
                page = SIDE_PAGES[_pick(SIDE_CUM, rng)][0]
                method = "PUT" if page == "Save Settings" else "GET"
                status = 404 if page == "Error" else (307 if page == "Save Settings" else 200)
            elif roll < 0.16:
                page = "Upgrade" if user.level == "free" else "Downgrade"
                method = "GET"
            artist = song = length = None
            if page == "NextSong":
                in_catalog = bool(cum_in) and cum_in[-1] > 0 and (not cum_out or cum_out[-1] == 0 or
                                                                   random_() < p.catalog_share)
                cum = cum_in if in_catalog else cum_out
                index = min(bisect.bisect_left(cum, random_() * cum[-1]), len(played) - 1)
                misencoded = random_() < p.misencoded_share
                accented = p_accented[in_catalog]
                if misencoded and accented:  # only non-ASCII text can be mis-encoded
                    index = accented[int(random_() * len(accented))]
                song, artist, length, _ = played[index]
                if in_catalog:
                    catalog_plays += 1
                    if random_() < p.duration_mismatch_share:
                        length = round(length + rng.choice([-1, 1]) * rng.uniform(0.5, 8), 5)
                        stats["duration_mismatches"] += 1
                if misencoded and accented:
                    artist, song = misencode(artist), misencode(song)
                    stats["misencoded_plays"] += 1
                    if (song.strip(), artist.strip()) in stats["catalog_keys"]:
                        resolved += 1
                elif resolvable[index]:
                    resolved += 1  # what the songplays match will find
                plays += 1
            event = {"artist": artist, "auth": "Logged In", "firstName": user.first, "gender": user.gender,
                     "itemInSession": item, "lastName": user.last, "length": length, "level": user.level,
                     "location": user.location, "method": method, "page": page,
                     "registration": user.registration, "sessionId": session_id, "song": song, "status": status,
                     "ts": ts, "userAgent": user.agent, "userId": user.user_id}
            if page in ("Submit Upgrade", "Submit Downgrade"):
                user.level = "paid" if page == "Submit Upgrade" else "free"
                user.changes -= 1
            ts += int(length * 1000) if length else 1000 + int(random_() * 29001)
        pages.append(event["page"])
        out.append((event["ts"], session_id * 100000 + item, _log_line(event)))
        item += 1
    stats["events"] += size
    stats["pages"].update(pages)
    stats["nextsong_events"] += plays
    stats["catalog_plays"] += catalog_plays
    stats["resolvable_plays"] += resolved
    if logged_out < size:
        stats["identified_users"].add(user.user_id)
    return out


def params_for(preset: str = "demo", **overrides) -> Params:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    clean = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[preset], **clean)


def scaled(preset: str, events: int, **overrides) -> Params:
    """A preset grown to ``events`` events: users and played songs grow with the square root."""
    base = PRESETS[preset]
    factor = events / base.events
    grow = max(1.0, math.sqrt(factor))
    return dataclasses.replace(base, events=events, users=int(base.users * grow),
                               played_songs=int(base.played_songs * grow), **overrides)


def ensure_sample_lake(out: Path, preset: str, seed: int) -> dict:
    """Generate the sample lake at ``out`` unless it is there already with the same parameters."""
    manifest_path = out / "generator_manifest.json"
    params = params_for(preset, seed=seed)
    if manifest_path.exists():
        with open(manifest_path) as handle:
            existing = json.load(handle)
        if existing.get("params") == dataclasses.asdict(params) and existing.get("format_version") == FORMAT_VERSION:
            return existing  # written by this version of the generator with these parameters
    return generate(str(out), params)
