-- The log's epoch (issue 17): a random number naming this event log, sent in `welcome`
-- and `subscribed`. A client resuming with `since` sends the epoch its seqs came from;
-- a log that is another (a backup restored over the database: its log went back, then
-- grew again over seqs already given out) has another epoch, and the client is told to
-- resync rather than miss what the old seqs stood for. From 1 to 2^53 - 1, so that
-- JavaScript reads it exactly. 0 means "not chosen yet": `chit-server backup` writes 0
-- into its copy, and the server chooses a new epoch when it opens the database, so
-- every restore of a copy starts a new epoch. (The webhooks' `instance` is another
-- number: it names the database in delivery ids, and `chit-server backup` leaves it.)
INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', 1 + abs(random() % 9007199254740991));
