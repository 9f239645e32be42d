"""Schema version 1 of both backends, verbatim as geosvc created it before migrations.

Never edit these strings: databases in the field were created from them, and
``tests/data/store/v1.sqlite`` / ``v1_postgis.sql`` were written by the code
that ran them.  A change is a new migration in :mod:`geosvc.store.migrations`.
"""

from __future__ import annotations

#: SQLite schema v1 (with the initial ``revision`` row).
SQLITE = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE items (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL DEFAULT '',
    department     TEXT NOT NULL DEFAULT '',
    category       TEXT NOT NULL,
    high_frequency INTEGER NOT NULL DEFAULT 0,
    scope          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE venues (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('hall', 'bank_outlet', 'kiosk')),
    lon               REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat               REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    level             TEXT,
    channels          TEXT NOT NULL DEFAULT '',
    area_code         TEXT,
    area_name         TEXT,
    address           TEXT,
    phone             TEXT,
    opening_hours     TEXT,
    official_calendar INTEGER NOT NULL DEFAULT 1,
    accessible        INTEGER NOT NULL DEFAULT 0,
    cross_province    INTEGER NOT NULL DEFAULT 0,
    regional          INTEGER NOT NULL DEFAULT 0,
    bank              TEXT,
    machines          INTEGER,
    name_en           TEXT,
    source            TEXT
);
CREATE TABLE links (
    venue_code TEXT NOT NULL REFERENCES venues (code) ON DELETE CASCADE,
    item_code  TEXT NOT NULL REFERENCES items (code) ON DELETE CASCADE,
    channels   TEXT NOT NULL,
    PRIMARY KEY (venue_code, item_code)
);
CREATE INDEX links_item ON links (item_code);
CREATE TABLE areas (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,
    wkt        TEXT NOT NULL,
    population REAL
);
CREATE TABLE population (
    id    INTEGER PRIMARY KEY,
    code  TEXT,
    lon   REAL NOT NULL,
    lat   REAL NOT NULL,
    count REAL NOT NULL CHECK (count >= 0),
    wkt   TEXT
);
INSERT INTO meta (key, value) VALUES ('revision', '0');
"""

#: PostGIS schema v1 (the v1 code then inserted ``revision`` 0 and ``schema_version`` 1).
POSTGIS = """
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text
);
CREATE TABLE items (
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    code           text PRIMARY KEY,
    name           text NOT NULL,
    name_en        text NOT NULL DEFAULT '',
    department     text NOT NULL DEFAULT '',
    category       text NOT NULL,
    high_frequency boolean NOT NULL DEFAULT false,
    scope          text NOT NULL,
    description    text NOT NULL DEFAULT ''
);
CREATE TABLE venues (
    seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    code              text PRIMARY KEY,
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('hall', 'bank_outlet', 'kiosk')),
    geom              geometry(Point, 4326) NOT NULL
                      CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90),
    level             text,
    channels          text[] NOT NULL DEFAULT '{}',
    area_code         text,
    area_name         text,
    address           text,
    phone             text,
    opening_hours     text,
    official_calendar boolean NOT NULL DEFAULT true,
    accessible        boolean NOT NULL DEFAULT false,
    cross_province    boolean NOT NULL DEFAULT false,
    regional          boolean NOT NULL DEFAULT false,
    bank              text,
    machines          integer,
    name_en           text,
    source            text
);
CREATE INDEX venues_geom ON venues USING gist (geom);
CREATE TABLE links (
    seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    venue_code text NOT NULL REFERENCES venues (code) ON DELETE CASCADE,
    item_code  text NOT NULL REFERENCES items (code) ON DELETE CASCADE,
    channels   text[] NOT NULL,
    PRIMARY KEY (venue_code, item_code)
);
CREATE INDEX links_item ON links (item_code);
CREATE TABLE areas (
    seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    code       text PRIMARY KEY,
    name       text NOT NULL,
    level      text NOT NULL,
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    single     boolean NOT NULL DEFAULT false,
    population double precision
);
CREATE INDEX areas_geom ON areas USING gist (geom);
CREATE TABLE population (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code  text,
    geom  geometry(Point, 4326) NOT NULL,
    count double precision NOT NULL CHECK (count >= 0),
    cell  geometry(Geometry, 4326)
);
CREATE INDEX population_geom ON population USING gist (geom);
INSERT INTO meta (key, value) VALUES ('revision', '0');
"""
