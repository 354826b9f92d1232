-- Accounts context: the key of an address (users.email_normalized) becomes its
-- canonical form, NFKC with full case folding, where v1 lower-cased it. SQL cannot
-- compute that form, so a row here asks the accounts adapters to rewrite every stored
-- key once, right after migrating and before anything is served (src/email_keys.rs);
-- the transaction that rewrites the keys removes the row. A later change of the form
-- (newer Unicode tables) asks again with a row of its own.
CREATE TABLE email_key_rewrites (
    -- Why the keys are rewritten, for whoever looks before the rewrite has run.
    reason text PRIMARY KEY NOT NULL
);

INSERT INTO email_key_rewrites (reason) VALUES ('NFKC and full case folding');
