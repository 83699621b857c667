-- 004_exact_text_and_key_scope: exact comparison of caller text; idempotency keys per resource.
--
-- 1. MariaDB's *_bin collations are PAD SPACE: 'ord-x' = 'ord-x  ', in WHERE and in unique keys.
--    A search for referenceId "ord-x" found "ord-x " too, and the idempotency keys "k" and "k "
--    (both valid: any printable ASCII) were one key. Every column that holds text a caller chose
--    and is compared for equality (tenant, account, reference, idempotency key) now uses a NO PAD
--    collation, which compares every byte. Server-made IDs and currencies are fixed-format and
--    are left alone.
-- 2. An idempotency key is scoped to its tenant and to the resource the request names: the wallet
--    (credit, authorize, direct debit), the transaction (capture, void) or the account (create a
--    wallet). The record lives on that resource's shard, in the same transaction as the movement,
--    so the rule is the same wherever wallets live (before, reusing a key for another wallet was
--    refused on the same shard and executed on another). scope_id holds the resource's ID.
--    Records written before this migration get their scope from their stored reply where it names
--    it (every success does); stored refusals name no resource and keep an empty scope, so a
--    retry of one within its 24 h retention executes afresh (a refused request moved nothing).

ALTER TABLE wallets
    MODIFY tenant_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL,
    MODIFY account_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL;

ALTER TABLE transactions
    MODIFY tenant_id    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL,
    MODIFY reference_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;

ALTER TABLE idempotency_keys
    MODIFY tenant_id VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL,
    MODIFY idem_key  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL,
    ADD COLUMN scope_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_nopad_bin NOT NULL
        DEFAULT '' AFTER tenant_id,
    DROP INDEX uq_idempotency_tenant_key,
    ADD UNIQUE KEY uq_idempotency_scope_key (tenant_id, scope_id, idem_key);

-- A stored wallet (create) names its account; a stored authorization that is no longer PENDING
-- answered a capture or void of it; any other stored transaction answered a movement on its
-- wallet.
UPDATE idempotency_keys
SET scope_id = COALESCE(
    CASE
        WHEN JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.accountId') IS NOT NULL
            THEN JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.accountId')
        WHEN JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.type') = 'AUTHORIZATION'
             AND JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.status') <> 'PENDING'
            THEN JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.id')
        ELSE JSON_VALUE(CONVERT(response USING utf8mb4), '$.data.walletId')
    END, '')
WHERE scope_id = '';
