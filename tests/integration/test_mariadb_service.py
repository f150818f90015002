"""The project's MariaDB runs with the binlog the CDC needs and least-privilege users."""
import pymysql
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.stack import mariadb


def test_binlog_is_configured_for_cdc(stack):
    with mariadb.admin_connect(stack) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id, "
                    "@@gtid_strict_mode, @@binlog_expire_logs_seconds, @@bind_address, @@port")
        assert cur.fetchone() == (1, "ROW", "FULL", "FULL", stack.mariadb_server_id, 1, 7 * 86400, "127.0.0.1",
                                  stack.db_port)


def test_status_reports_pid_port_health(stack):
    status = mariadb.SERVICE.status(stack)
    assert status["healthy"] and status["pid"] and status["port"] == stack.db_port


def test_start_when_running_is_a_noop(stack):
    pid = mariadb.SERVICE.status(stack)["pid"]
    assert mariadb.SERVICE.start(stack) == 0.0
    assert mariadb.SERVICE.status(stack)["pid"] == pid


def test_app_user_has_dml_but_no_ddl(loaded_db):
    with get_engine(get_settings(), "app").connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM properties")).scalar() > 0
        with pytest.raises((OperationalError, ProgrammingError), match="denied"):
            conn.execute(text("CREATE TABLE intruder (id INT)"))


def test_readonly_user_cannot_write(loaded_db):
    with get_engine(get_settings(), "readonly").connect() as conn:
        with pytest.raises((OperationalError, ProgrammingError), match="denied"):
            conn.execute(text("UPDATE properties SET title = 'x' WHERE id = 2539"))


def test_cdc_user_can_read_the_binlog_but_not_write(stack):
    conn = pymysql.connect(host=stack.db_host, port=stack.db_port, user=stack.db_cdc_user,
                           password=stack.secret("db_cdc_password"))
    with conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        assert cur.fetchone()[0].startswith("mariadb-bin")
        cur.execute("SHOW GRANTS")
        grants = " ".join(r[0] for r in cur.fetchall())
        assert "REPLICATION SLAVE" in grants and "BINLOG MONITOR" in grants
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cur.execute(f"INSERT INTO `{stack.db_name}`.users (email, name) VALUES ('a@b.c', 'x')")
