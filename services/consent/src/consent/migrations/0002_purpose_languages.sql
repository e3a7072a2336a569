-- Purposes in Dutch and English (Accept-Language), and a version for If-Match on changes.
-- `name`/`description` stay as first written; `translations` has per language
-- {"name": ..., "description": ...} and wins where present.
ALTER TABLE purpose ADD COLUMN translations jsonb NOT NULL DEFAULT '{}';
ALTER TABLE purpose ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE purpose ADD COLUMN updated_by text;

UPDATE purpose SET translations = t.translations::jsonb FROM (VALUES
    ('newsletter', '{
        "nl": {"name": "Nieuwsbrief en marketing-e-mail",
               "description": "Nieuwsbrieven en andere berichten over het platform en over nieuwe producten."},
        "en": {"name": "Newsletter and marketing e-mail",
               "description": "Newsletters and other messages about the platform and new products."}}'),
    ('service-email', '{
        "nl": {"name": "E-mail over producten en diensten",
               "description": "E-mail over producten en diensten die u al bij ons afneemt. U kunt zich altijd afmelden."},
        "en": {"name": "Product and service e-mail",
               "description": "E-mail about products and services you already use. You can unsubscribe at any time."}}'),
    ('analytics', '{
        "nl": {"name": "Analytische cookies",
               "description": "Met analytische cookies meten wij het bezoek aan de website en hoe die wordt gebruikt."},
        "en": {"name": "Analytics cookies",
               "description": "Analytics cookies measure visits to the website and how it is used."}}'),
    ('session-recording', '{
        "nl": {"name": "Sessie-opnames",
               "description": "Vastleggen hoe bezoekers de website gebruiken, om onze dienstverlening te verbeteren."},
        "en": {"name": "Session recording",
               "description": "Recording how visitors use the website, to improve our service."}}'),
    ('advertising', '{
        "nl": {"name": "Advertenties en remarketing",
               "description": "Remarketing en trackingpixels voor marketing en klantenservice."},
        "en": {"name": "Advertising and remarketing",
               "description": "Remarketing and tracking pixels for marketing and customer service."}}'),
    ('third-party-sharing', '{
        "nl": {"name": "Delen met derden",
               "description": "Persoonsgegevens delen met derden met wie wij daarover afspraken hebben gemaakt."},
        "en": {"name": "Sharing with third parties",
               "description": "Sharing personal data with third parties with whom we have made agreements about it."}}'),
    ('anonymised-research', '{
        "nl": {"name": "Publicatie van geanonimiseerd onderzoek",
               "description": "Geanonimiseerde analyses publiceren, bijvoorbeeld voor benchmarkonderzoek."},
        "en": {"name": "Publication of anonymised research",
               "description": "Publishing anonymised analyses, for example for benchmark research."}}'),
    ('anonymised-data', '{
        "nl": {"name": "Bewaren van geanonimiseerde gegevens",
               "description": "Geanonimiseerde gegevens bewaren voor statistiek en benchmarks. Weigert u dit, dan bewaren wij zelfs geen geanonimiseerde gegevens van u."},
        "en": {"name": "Keeping anonymised data",
               "description": "Keeping anonymised data for statistics and benchmarks. If you refuse, we keep not even anonymised data of yours."}}')
) AS t (id, translations)
WHERE purpose.id = t.id;
