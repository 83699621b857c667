-- 001_core_schema: wallets, transactions, ledger and idempotency keys (PRODUCT §3).
--
-- Money is BIGINT minor units. Every balance change writes one ledger row with the balance and
-- held amount after it, so `balance = SUM(ledger.amount)` and `held = SUM(ledger.held_delta)` for
-- every wallet (walletctl verify checks both). IDs are the server's routable IDs (shard/id.h),
-- compared byte-wise (ascii_bin). Timestamps are UTC, millisecond precision.

CREATE TABLE wallets (
    id          CHAR(40)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    account_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    currency    CHAR(3)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status      ENUM('ACTIVE', 'FROZEN', 'CLOSED') NOT NULL DEFAULT 'ACTIVE',
    balance     BIGINT      NOT NULL DEFAULT 0,
    held        BIGINT      NOT NULL DEFAULT 0,
    created_at  DATETIME(3) NOT NULL,
    updated_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_wallets_account_currency (tenant_id, account_id, currency),
    CONSTRAINT chk_wallets_held CHECK (held >= 0),
    CONSTRAINT chk_wallets_available CHECK (balance - held >= 0)
) ENGINE = InnoDB;

CREATE TABLE transactions (
    id              CHAR(40)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_id       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    wallet_id       CHAR(40)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    type            ENUM('CREDIT', 'AUTHORIZATION', 'DEBIT') NOT NULL,
    status          ENUM('PENDING', 'COMPLETED', 'VOIDED', 'EXPIRED') NOT NULL,
    amount          BIGINT      NOT NULL,
    captured_amount BIGINT      NULL,
    currency        CHAR(3)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    reference_id    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    expires_at      DATETIME(3) NULL,
    created_at      DATETIME(3) NOT NULL,
    updated_at      DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    KEY idx_transactions_wallet_status (wallet_id, status),
    KEY idx_transactions_reference (tenant_id, reference_id),
    KEY idx_transactions_created (created_at),
    KEY idx_transactions_pending_expiry (status, expires_at),
    CONSTRAINT chk_transactions_amount CHECK (amount > 0),
    CONSTRAINT chk_transactions_captured CHECK (captured_amount IS NULL
        OR (captured_amount > 0 AND captured_amount <= amount))
) ENGINE = InnoDB;

-- One row per change of a wallet's balance or held amount. amount is the signed change to the
-- balance, held_delta the signed change to held. Pagination is keyset on (wallet_id, id): within
-- one wallet, ids grow in commit order because the wallet row lock serialises its writers.
CREATE TABLE ledger (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    wallet_id      CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    transaction_id CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    entry_type     ENUM('CREDIT', 'DEBIT', 'HOLD', 'RELEASE', 'CAPTURE') NOT NULL,
    amount         BIGINT NOT NULL,
    held_delta     BIGINT NOT NULL,
    balance_after  BIGINT NOT NULL,
    held_after     BIGINT NOT NULL,
    created_at     DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    KEY idx_ledger_wallet (wallet_id, id),
    KEY idx_ledger_wallet_created (wallet_id, created_at),
    KEY idx_ledger_transaction (transaction_id)
) ENGINE = InnoDB;

-- The idempotency record is written in the same transaction as the movement it answers for.
-- status_code 0 marks a claim inside a running transaction (never visible once committed).
CREATE TABLE idempotency_keys (
    tenant_id    VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    idem_key     VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_hash BINARY(32)   NOT NULL,
    status_code  SMALLINT     NOT NULL,
    response     MEDIUMBLOB   NULL,
    created_at   DATETIME(3)  NOT NULL,
    PRIMARY KEY (tenant_id, idem_key),
    KEY idx_idempotency_created (created_at)
) ENGINE = InnoDB;
