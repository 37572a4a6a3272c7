-- company-dedupe: automatic approval of a name one typing slip from a single reviewed clean name
-- (one character inserted, dropped, replaced, or two neighbours swapped; keys of 6+ characters), no
-- other of the clean names compared with it (the 25 most alike by trigrams) being one slip away.
-- Off by default, like the approval of equal keys; the suggestion records which evidence it had.
ALTER TABLE integration.organization_name ADD COLUMN suggestion_one_slip boolean;
INSERT INTO integration.setting (name, value, description) VALUES
    ('dedupe.auto_approve_one_slip', 'false',
     'true: a new organisation name whose normalised key is one typing slip (one character added, dropped, replaced, or two neighbours swapped; keys of 6 or more characters) from one reviewed clean name''s key, and from no other among the clean names compared with it (the 25 most alike), is approved automatically as that name')
ON CONFLICT (name) DO NOTHING;
