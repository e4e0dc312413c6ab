"""Serve ClickHouse over HTTP and native TCP from the chdb-core engine.

chdb-core is ClickHouse's engine packaged as a Python extension. Its one-shot entry point
`chdb._chdb.query` runs the full clickhouse-local main, which reads ./config.xml and can open
listeners; the listeners live only as long as that call runs. So this launcher writes a
loopback-only config.xml, runs an endless query that keeps the listeners open, and exits
non-zero if that query ever returns. Pinned to chdb-core==26.9.0: it relies on those internals.

Usage: python launch.py --dir DIR [--host 127.0.0.1] [--http-port 8123] [--tcp-port 9000]
Stop it with SIGTERM.
"""

import argparse
import os
import socket
import sys
import xml.etree.ElementTree as ET

# Must happen before chdir: the extension resolves its own files relative to the import path.
import chdb._chdb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_LOG_TTL = os.path.join(HERE, "system-log-ttl.xml")

# The system logs the dev engine writes, each with the TTL from system-log-ttl.xml. The periodic
# collectors (metric_log, text_log, trace_log, ...) stay off: dev machines are small and shared.
DEV_SYSTEM_LOGS = {"query_log", "part_log", "error_log", "asynchronous_insert_log"}

KEEP_LISTENING = (
    "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
    "SELECT sleepEachRow(1) FROM numbers(100000000) FORMAT Null "
    "SETTINGS max_block_size = 1"
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="working directory (config + data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8123)
    parser.add_argument("--tcp-port", type=int, default=9000)
    return parser.parse_args()


def build_config(host, http_port, tcp_port, data_dir):
    root = ET.Element("clickhouse")
    for tag, text in (
        ("listen_host", host),
        ("http_port", str(http_port)),
        ("tcp_port", str(tcp_port)),
        ("path", data_dir + "/"),
    ):
        ET.SubElement(root, tag).text = text
    logger = ET.SubElement(root, "logger")
    ET.SubElement(logger, "level").text = "warning"
    ET.SubElement(logger, "console").text = "1"
    # The same system-log TTL snippet a real server gets in config.d/.
    for element in ET.parse(SYSTEM_LOG_TTL).getroot():
        if element.tag in DEV_SYSTEM_LOGS:
            root.append(element)
    return ET.ElementTree(root)


def port_in_use(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def main():
    args = parse_args()
    work_dir = os.path.abspath(args.dir)
    data_dir = os.path.join(work_dir, "data")
    os.makedirs(data_dir, exist_ok=True)

    # A busy port only prints "Listen ... failed" and returns without an error flag.
    for port in (args.http_port, args.tcp_port):
        if port_in_use(args.host, port):
            sys.stderr.write(f"launch.py: {args.host}:{port} is already in use\n")
            return 2

    build_config(args.host, args.http_port, args.tcp_port, data_dir).write(
        os.path.join(work_dir, "config.xml"), encoding="unicode"
    )
    os.chdir(work_dir)
    sys.stderr.write(
        f"launch.py: ClickHouse (chdb-core) on http://{args.host}:{args.http_port} "
        f"and tcp://{args.host}:{args.tcp_port}, data in {data_dir}\n"
    )
    sys.stderr.flush()
    chdb._chdb.query(KEEP_LISTENING, "TabSeparated", path=data_dir)
    # The query runs for ~3 years; returning means the listeners are gone.
    sys.stderr.write("launch.py: the ClickHouse listener query returned; treating as failure\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
