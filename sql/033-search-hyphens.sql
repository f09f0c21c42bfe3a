-- 033-search-hyphens.sql — the parts of a hyphenated name are search words
-- (q=marie finds "Anne-Marie Dupont"): what contacts.c derive() now appends,
-- for the rows it derived before.
UPDATE contacts SET search = CONCAT(search, ' ', REPLACE(name, '-', ' ')) WHERE name LIKE '%-%';
