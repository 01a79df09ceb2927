"""README.md stays true to the code (issue 12: the monitor's help text and the README disagreed).

No boot: reads vmm/include/vmm/cmdline.h's option table (the X-macro the monitor's parser and its
help text come from) and README.md's option table.
"""
import re

from conftest import ROOT

CMDLINE_H = ROOT / "vmm" / "include" / "vmm" / "cmdline.h"
README = ROOT / "README.md"


def option_keys():
    return re.findall(r"^\tX\((\w+),\s+HV_OPT_", CMDLINE_H.read_text(), re.M)


def readme_option_rows():
    rows = {}
    for line in README.read_text().splitlines():
        m = re.match(r"\| `(\w+)=[^`]*` \| ([^|]*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3))
    return rows


def test_every_monitor_option_is_in_the_readme_table():
    keys, rows = option_keys(), readme_option_rows()
    assert len(keys) >= 8
    missing = [k for k in keys if k not in rows]
    assert missing == [], f"options without a README row: {missing}"


def test_readme_watchdog_row_says_what_the_help_says():
    default = re.search(r"X\(watchdog,\s*HV_OPT_UINT,\s*watchdog,\s*(\d+)", CMDLINE_H.read_text()).group(1)
    row_default, row_text = readme_option_rows()["watchdog"]
    assert row_default == f"`{default}`"
    # Both describe the same rule: no progress, exits or not.
    for words in ("no progress", "exits or not"):
        assert words in row_text and words in CMDLINE_H.read_text(), words
