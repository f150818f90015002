"""The binlog archiver process: `python -m consumers.binlog_archiver [--metrics-port P]`.

Thin: the work is hellohome.backup.archiver.Archiver (closed binlogs to S3 within minutes).
"""
from hellohome.backup.archiver import Archiver
from hellohome.worker import main

if __name__ == "__main__":
    main("binlog-archiver", __doc__, lambda settings, _group: Archiver(settings), group=None,
         metrics_port="backup_metrics_port")
