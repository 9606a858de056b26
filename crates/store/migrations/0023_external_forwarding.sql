-- Whether a mailbox forwards mail automatically outside the organisation, as the mail system
-- reports it: an optional column, so existing files import unchanged.
ALTER TABLE accounts ADD COLUMN forwards_externally BOOLEAN;
