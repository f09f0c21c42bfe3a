"""The invariant checker itself: on a healthy stack it passes; each kind of damage
the scenarios look for (a 202 lost, a command applied twice, a command given up
as failed, a projection out of step with the log, a clock behind its head)
makes it fail. Without this, a checker that checks nothing would pass too."""

import pytest

from conftest import check_invariants, mixed_op, setup_dbs, Load


def damage_cases():
    return [
        ("a 202 lost", "DELETE FROM contacts WHERE email = '{email}'"),
        ("applied twice", "INSERT INTO chat_items (db, chat, id, author, time, body) SELECT db, chat, "
                          "'zzzzzzzzzzz', author, time, body FROM chat_items WHERE body = '{text}'"),
        ("recorded as failed", "UPDATE commands SET status = 2 WHERE kind = 'chat.post' LIMIT 1"),
        ("count out of step", "UPDATE chats SET count = count + 1 LIMIT 1"),
        ("clock behind head", "UPDATE streams SET head = head + 1 WHERE stream = {stream}"),
    ]


def test_checker_catches_damage(stack):
    dbs = setup_dbs(stack, 1)
    results = Load(stack.url, stack.token, mixed_op(dbs, "ck"), 30, threads=3).start().join()
    check_invariants(stack, results, allow_unanswered_in_log=False)
    imp = [r for r in results if r.kind == "import"][0]
    post = [r for r in results if r.kind == "post"][0]
    # Each damage on its own, undone afterwards: a savepoint-free way is to copy the tables.
    for name, sql in damage_cases():
        stack.sql("CREATE TABLE bk_c AS SELECT * FROM contacts; CREATE TABLE bk_i AS SELECT * FROM chat_items; "
                  "CREATE TABLE bk_cmd AS SELECT * FROM commands; CREATE TABLE bk_ch AS SELECT * FROM chats; "
                  "CREATE TABLE bk_s AS SELECT * FROM streams")
        stack.sql(sql.format(email=imp.key, text=post.key, stream=dbs[0]["stream"]))
        with pytest.raises(AssertionError):
            check_invariants(stack, results, allow_unanswered_in_log=False, wait=False)
        stack.sql("DELETE FROM contacts; INSERT INTO contacts SELECT * FROM bk_c; "
                  "DELETE FROM chat_items; INSERT INTO chat_items SELECT * FROM bk_i; "
                  "DELETE FROM commands; INSERT INTO commands SELECT * FROM bk_cmd; "
                  "DELETE FROM chats; INSERT INTO chats SELECT * FROM bk_ch; "
                  "DELETE FROM streams; INSERT INTO streams SELECT * FROM bk_s; "
                  "DROP TABLE bk_c, bk_i, bk_cmd, bk_ch, bk_s")
        check_invariants(stack, results, allow_unanswered_in_log=False)
