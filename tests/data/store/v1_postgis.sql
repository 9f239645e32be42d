-- geosvc PostGIS store, schema version 1: the DDL the v1 code ran and every
-- row it stored.  Written by scripts/make_v1_fixture.py at 9f774d7.
-- Load with search_path = <target schema>, public (tests/store/v1_fixture.py).
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
INSERT INTO meta (key, value) VALUES ('calendar', 'cn');
INSERT INTO meta (key, value) VALUES ('country', 'CN');
INSERT INTO meta (key, value) VALUES ('extra.source', 'scripts/make_v1_fixture.py');
INSERT INTO meta (key, value) VALUES ('name', 'v1 fixture city');
INSERT INTO meta (key, value) VALUES ('revision', '2');
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
INSERT INTO meta (key, value) VALUES ('timezone', 'Asia/Shanghai');
INSERT INTO items (code, name, name_en, department, category, high_frequency, scope, description) VALUES ('I1', '社保卡补领', 'Social security card', '人社局', 'person', true, 'city', '补办社保卡');
INSERT INTO items (code, name, name_en, department, category, high_frequency, scope, description) VALUES ('I2', '营业执照变更', '', '', 'business', false, 'county', '');
INSERT INTO items (code, name, name_en, department, category, high_frequency, scope, description) VALUES ('I3', '居住证签注', 'Residence permit', '公安局', 'person', false, 'cross_province', '');
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('H1', '宣城市政务服务中心', 'hall', '0101000020E61000001B0DE02D90B05D40FFB27BF2B0F03E40', 'city', '{self_service,window}', 'D1', '宣州区', '梅溪路 1 号', '0563-1234567', 'Mo-Fr 09:00-17:00', true, true, true, true, NULL, NULL, 'City hall', 'osm:node/1');
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('H2', '鳌峰街道便民服务中心', 'hall', '0101000020E6100000BED14DB7E6875D404EDFE0E9D6FC3E40', 'township', '{window}', 'D1', '宣州区', NULL, NULL, 'Mo-Sa 08:30-12:00', false, false, false, false, NULL, NULL, NULL, NULL);
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('B1', '工商银行 鳌峰支行', 'bank_outlet', '0101000020E61000000000000000B05D403333333333F33E40', NULL, '{self_service,smart_teller,window}', 'D2', '郎溪县', NULL, NULL, NULL, true, false, false, false, 'ICBC', 2, NULL, NULL);
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('B2', '建设银行 梅园支行', 'bank_outlet', '0101000020E61000000C21E7FDFF7F66C09A99999999795640', 'county', '{}', NULL, NULL, NULL, NULL, NULL, true, false, false, false, 'CCB', NULL, NULL, NULL);
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('K1', '自助服务站 1', 'kiosk', '0101000020E6100000713D0AD7A3B05D40AE47E17A14EE3E40', NULL, '{self_service}', NULL, NULL, NULL, NULL, '24/7', true, false, false, false, NULL, 1, NULL, NULL);
INSERT INTO venues (code, name, kind, geom, level, channels, area_code, area_name, address, phone, opening_hours, official_calendar, accessible, cross_province, regional, bank, machines, name_en, source) VALUES ('K2', '自助服务站 2', 'kiosk', '0101000020E610000048AFBC9AF2D77A3E956479E17FFD85BD', 'village', '{self_service}', NULL, NULL, NULL, NULL, NULL, true, true, false, false, NULL, NULL, NULL, NULL);
INSERT INTO links (venue_code, item_code, channels) VALUES ('H1', 'I1', '{window}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('H1', 'I2', '{self_service,window}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('H2', 'I1', '{window}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('B1', 'I1', '{smart_teller}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('B1', 'I3', '{self_service,window}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('K1', 'I1', '{self_service}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('K2', 'I3', '{self_service}');
INSERT INTO links (venue_code, item_code, channels) VALUES ('H2', 'I3', '{window}');
INSERT INTO areas (code, name, level, geom, single, population) VALUES ('D1', '宣州区', 'county', '0106000020E61000000100000001030000000100000004000000BAD14DB7E6875D400000000000003E400000000000C05D400000000000003E400000000000C05D400000000000003F40BAD14DB7E6875D400000000000003E40', true, 5000.0);
INSERT INTO areas (code, name, level, geom, single, population) VALUES ('D2', '郎溪县', 'county', '0106000020E6100000020000000103000000010000000400000000000000000000000000000000000000000000000000F03F0000000000000000000000000000F03F000000000000F03F000000000000000000000000000000000103000000010000000400000000000000000000400000000000000040000000000000084000000000000000400000000000000840000000000000084000000000000000400000000000000040', false, NULL);
INSERT INTO areas (code, name, level, geom, single, population) VALUES ('T1', 'with hole', 'township', '0106000020E610000001000000010300000002000000050000000000000000000000000000000000000000000000000024400000000000000000000000000000244000000000000024400000000000000000000000000000244000000000000000000000000000000000050000000000000000000040000000000000004000000000000000400000000000000840000000000000084000000000000008400000000000000840000000000000004000000000000000400000000000000040', true, 0.5);
INSERT INTO population (code, geom, count, cell) VALUES (NULL, '0101000020E6100000CDCCCCCCCCAC5D406666666666E63E40', 100.0, NULL);
INSERT INTO population (code, geom, count, cell) VALUES ('c2', '0101000020E61000003333333333B35D403333333333F33E40', 50.5, '0103000020E61000000100000004000000000000000000F03F000000000000F03F0000000000000040000000000000F03F00000000000000400000000000000040000000000000F03F000000000000F03F');
INSERT INTO population (code, geom, count, cell) VALUES ('c3', '0101000020E61000000000000000B05D40295C8FC2F5E83E40', 0.0, NULL);
