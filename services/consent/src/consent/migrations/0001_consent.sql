-- Purposes: what a person can consent to (O9). Retired purposes stay for the history.
CREATE TABLE purpose (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,47}$'),
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    legal_basis      text NOT NULL CHECK (legal_basis IN
                         ('consent', 'legitimate_interest', 'contract', 'legal_obligation')),
    cookie_category  text CHECK (cookie_category IN
                         ('strictly_necessary', 'functional', 'analytics', 'marketing')),
    vendors          text[] NOT NULL DEFAULT '{}',
    direct_marketing boolean NOT NULL DEFAULT false,
    -- A `Sec-GPC: 1` request counts as refusal of this purpose (O12).
    gpc_refusal      boolean NOT NULL DEFAULT false,
    -- Opt-out purposes (legitimate interest) are on until refused; consent ones off until given.
    default_granted  boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT 'migration',
    retired_at       timestamptz,
    retired_by       text
);

-- Policy versions with date and changelog (O14). `seq` orders them.
CREATE TABLE policy_version (
    seq                bigserial UNIQUE,
    version            text PRIMARY KEY,
    effective_date     date NOT NULL,
    changelog          text NOT NULL,
    url                text NOT NULL,
    -- Consents given under an older version for these purposes need renewal.
    material_purposes  text[] NOT NULL DEFAULT '{}',
    -- Widens collection or sub-processors: to be announced to users (O14).
    announce           boolean NOT NULL DEFAULT false,
    published_at       timestamptz NOT NULL DEFAULT now(),
    published_by       text NOT NULL DEFAULT 'migration'
);

-- Verified parental consent for a subject under 16 (O6).
CREATE TABLE parental_consent (
    id                   uuid PRIMARY KEY,
    subject_id           text NOT NULL,
    guardian_reference   text NOT NULL,
    verification_method  text NOT NULL,
    verified_by          text NOT NULL,
    verified_at          timestamptz NOT NULL
);
CREATE INDEX parental_consent_subject ON parental_consent (subject_id);

-- The append-only consent ledger (O9, O11). Each record chains to the subject's previous one.
CREATE TABLE consent_record (
    id                   uuid PRIMARY KEY,
    subject_id           text NOT NULL,
    chain_index          integer NOT NULL,
    purpose_id           text NOT NULL REFERENCES purpose (id),
    granted              boolean NOT NULL,
    policy_version       text NOT NULL REFERENCES policy_version (version),
    method               text NOT NULL CHECK (method IN
                             ('banner', 'settings_page', 'api', 'import', 'gpc')),
    actor_sub            text NOT NULL,
    actor_role           text NOT NULL,
    on_behalf            boolean NOT NULL,
    tenant_id            text,
    parental_consent_id  uuid REFERENCES parental_consent (id),
    gpc                  boolean NOT NULL DEFAULT false,
    recorded_at          timestamptz NOT NULL,
    prev_hash            text NOT NULL,
    hash                 text NOT NULL,
    UNIQUE (subject_id, chain_index)
);
-- The read path: the latest record per purpose of one subject, from one index.
CREATE INDEX consent_record_latest
    ON consent_record (subject_id, purpose_id, chain_index DESC)
    INCLUDE (granted, policy_version, method, recorded_at, id);
CREATE INDEX consent_record_tenant ON consent_record (tenant_id) WHERE tenant_id IS NOT NULL;

CREATE FUNCTION consent_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_record is append-only: record a new grant or withdrawal instead';
END $$;
CREATE TRIGGER consent_record_no_update BEFORE UPDATE ON consent_record
    FOR EACH ROW EXECUTE FUNCTION consent_record_append_only();

-- Objection to direct marketing (O12): beats any grant until lifted. purposes NULL = all.
CREATE TABLE marketing_objection (
    id          uuid PRIMARY KEY,
    subject_id  text NOT NULL,
    purposes    text[],
    actor_sub   text NOT NULL,
    actor_role  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    lifted_by   text
);
CREATE UNIQUE INDEX marketing_objection_active ON marketing_objection (subject_id)
    WHERE lifted_at IS NULL;

-- Cookie choices of visitors, keyed by their cookie id (O10); linked to a subject on login.
CREATE TABLE cookie_choice (
    id              uuid PRIMARY KEY,
    cookie_id       text NOT NULL,
    subject_id      text,
    functional      boolean NOT NULL,
    analytics       boolean NOT NULL,
    marketing       boolean NOT NULL,
    gpc             boolean NOT NULL,
    policy_version  text NOT NULL REFERENCES policy_version (version),
    recorded_at     timestamptz NOT NULL,
    linked_at       timestamptz
);
CREATE INDEX cookie_choice_latest ON cookie_choice (cookie_id, recorded_at DESC);
CREATE INDEX cookie_choice_subject ON cookie_choice (subject_id) WHERE subject_id IS NOT NULL;

INSERT INTO policy_version (version, effective_date, changelog, url) VALUES
    ('2022-05-11', '2022-05-11',
     'De uitleg als gegevensverwerker toegevoegd, de cookielijst bijgewerkt en de Nederlandse '
     'vertaling van het Privacybeleid toegevoegd.',
     'https://privacy.example.org/policy/2022-05-11');

INSERT INTO purpose (id, name, description, legal_basis, cookie_category, vendors,
                     direct_marketing, gpc_refusal, default_granted) VALUES
    ('newsletter', 'Newsletter and marketing e-mail',
     'Nieuwsbrieven en andere berichten over het platform en nieuwe producten.',
     'consent', NULL, '{}', true, false, false),
    ('service-email', 'Product and service e-mail',
     'E-mail over producten en diensten die u al afneemt; afmelden kan altijd.',
     'legitimate_interest', NULL, '{}', true, false, true),
    ('analytics', 'Analytics cookies',
     'Meten van verkeer en gebruikstrends met analytische cookies.',
     'consent', 'analytics', '{"Google Analytics"}', false, false, false),
    ('session-recording', 'Session recording',
     'Gedrag op de website vastleggen om de dienst te verbeteren.',
     'consent', 'analytics', '{"Hotjar"}', false, false, false),
    ('advertising', 'Advertising and remarketing',
     'Remarketing en trackingpixels voor marketing- en klantenservicedoeleinden.',
     'consent', 'marketing', '{"Google Ads","Facebook","LinkedIn","HubSpot"}', true, true, false),
    ('third-party-sharing', 'Sharing with third parties',
     'Persoonsgegevens delen met derden met wie afspraken zijn gemaakt.',
     'consent', NULL, '{}', false, true, false),
    ('anonymised-research', 'Publication of anonymised research',
     'Geanonimiseerde analyses publiceren, bijvoorbeeld voor benchmarkonderzoek.',
     'consent', NULL, '{}', false, false, false),
    ('anonymised-data', 'Keeping anonymised data',
     'Geanonimiseerde gegevens bewaren voor statistiek en benchmarks. Weigeren betekent: '
     'bewaar zelfs geen geanonimiseerde gegevens van mij.',
     'legitimate_interest', NULL, '{}', false, false, true);
