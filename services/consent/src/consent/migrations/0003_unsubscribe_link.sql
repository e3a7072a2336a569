-- O12: a withdrawal through a one-click unsubscribe link is recorded with its own method.
ALTER TABLE consent_record DROP CONSTRAINT consent_record_method_check;
ALTER TABLE consent_record ADD CONSTRAINT consent_record_method_check CHECK (method IN
    ('banner', 'settings_page', 'api', 'import', 'gpc', 'unsubscribe-link'));
