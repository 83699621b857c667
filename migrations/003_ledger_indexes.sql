-- 003_ledger_indexes: one secondary index on the ledger, the one its hot path reads.
--
-- Every movement writes a ledger row, so every ledger index is paid on every movement.
-- idx_ledger_wallet (wallet_id, id) serves the wallet ledger newest first with keyset
-- pagination; within one wallet ids grow in commit order (the wallet row lock serialises its
-- writers), so it is also the wallet's ledger in created_at order. 001's
-- idx_ledger_wallet_created duplicated it, and idx_ledger_transaction served no query.
ALTER TABLE ledger
    DROP INDEX IF EXISTS idx_ledger_wallet_created,
    DROP INDEX IF EXISTS idx_ledger_transaction;
