-- 002_idempotency_keys_sequential: store idempotency records in arrival order.
--
-- 001 clustered the records (each carries its stored reply, hundreds of bytes) on
-- (tenant_id, idem_key): keys are random, so every insert landed on a random page of a table
-- that grows by one row per movement and is kept for at least 24 h — once it outgrows the buffer
-- pool every movement paid for page reads and scattered writes. Rows now append on an
-- AUTO_INCREMENT key, and the (tenant, key) lookup — still the uniqueness that decides
-- idempotency — moves to a narrow secondary index.
ALTER TABLE idempotency_keys
    DROP PRIMARY KEY,
    ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT FIRST,
    ADD PRIMARY KEY (id),
    ADD UNIQUE KEY uq_idempotency_tenant_key (tenant_id, idem_key);
