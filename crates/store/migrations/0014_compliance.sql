-- Where each policy stood, day by day: of the subjects its check controls looked at on a day's
-- last run, how many failed one (an excepted finding does not count against its subject). One
-- row per pack and section (`section` '' is the whole pack). Derived from the registers and the
-- findings, so not audited: a run rewrites its pack's rows for its day.

CREATE TABLE compliance (
    pack TEXT NOT NULL,
    section TEXT NOT NULL,
    day DATE NOT NULL,
    checked BIGINT NOT NULL,
    failing BIGINT NOT NULL,
    PRIMARY KEY (pack, day, section)
);

-- The organisation's thresholds for red, amber and green, in percent (empty: 95 and 80).
ALTER TABLE organisation ADD COLUMN compliance_green BIGINT;
ALTER TABLE organisation ADD COLUMN compliance_amber BIGINT;
