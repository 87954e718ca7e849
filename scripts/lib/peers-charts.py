#!/usr/bin/python3
"""peers-charts.py RESULTS.json OUT.png — the overview chart of scripts/bench-peers (Debian's matplotlib).

One figure, 3x3 panels of horizontal bars, one bar per tool, sinki in orange, the other snapshot
tools in blues, the copy-into-encrypted-folder tools in greys. Every panel says whether higher or
lower is better and prints the value at the end of each bar; medians of the rounds, with min-max
whiskers where there were several rounds.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MiB = 1024 * 1024
COLORS = {
    "sinki": "#e8590c",
    "borg-lzma1": "#1c7ed6",
    "borg": "#74c0fc",
    "restic": "#2b8a3e",
    "restic-max": "#8ce99a",
    "gocryptfs": "#868e96",
    "rclone": "#ced4da",
}


def med(s):
    return None if not s else s.get("median")


def main():
    res = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    tools = res["tools"]
    labels = [t["label"] for t in tools]

    def stat_panel(ax, title, getter, scale=1.0, fmt="{:.1f}", better="lower"):
        vals, lo, hi, names, colors = [], [], [], [], []
        for t in tools:
            s = getter(t)
            if s is None:
                continue
            if isinstance(s, dict):
                m, a, b = s["median"], s["min"], s["max"]
            else:
                m = a = b = s
            if m is None:
                continue
            vals.append(m * scale)
            lo.append((m - a) * scale)
            hi.append((b - m) * scale)
            names.append(t["label"])
            colors.append(COLORS.get(t["id"], "#999"))
        draw(ax, title, names, vals, colors, fmt, better, (lo, hi) if any(lo) or any(hi) else None)

    def draw(ax, title, names, vals, colors, fmt, better, err=None):
        arrow = "higher is better →" if better == "higher" else "← lower is better"
        ax.set_title(f"{title}\n({arrow})", fontsize=10)
        if not vals:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            return
        y = list(range(len(vals)))
        ax.barh(y, vals, color=colors, edgecolor="#333", linewidth=0.5,
                xerr=err, error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#444"})
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=9)
        for lbl in ax.get_yticklabels():
            if lbl.get_text() == "sinki":
                lbl.set_fontweight("bold")
        ax.invert_yaxis()
        top = max(v + (err[1][i] if err else 0) for i, v in enumerate(vals)) or 1
        ax.set_xlim(0, top * 1.28)
        for i, v in enumerate(vals):
            ax.text(v + (err[1][i] if err else 0) + top * 0.02, i, fmt.format(v), va="center", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#eee")
        ax.set_axisbelow(True)

    fig, axes = plt.subplots(3, 3, figsize=(15, 12.5))
    first = lambda t: t.get("first") or {}  # noqa: E731
    stat_panel(axes[0][0], "First backup, MB/s", lambda t: first(t).get("mbps"), better="higher")
    stat_panel(axes[0][1], "Store size after first backup, MiB", lambda t: first(t).get("store"), 1 / MiB, "{:.0f}")
    stat_panel(axes[0][2], "Peak RSS of the first backup, MiB", lambda t: first(t).get("rss"), 1 / MiB, "{:.0f}")
    stat_panel(axes[1][0], "No-change re-run, s", lambda t: t["noChange"]["seconds"], fmt="{:.2f}")
    stat_panel(axes[1][1], "Re-run after changing 1% of files, s", lambda t: t["change"]["seconds"], fmt="{:.2f}")
    stat_panel(axes[1][2], "Full restore, s", lambda t: t["restore"]["seconds"], fmt="{:.1f}")
    stat_panel(axes[2][0], "Single-file restore (~10 MiB, deep), s", lambda t: t["single"]["seconds"], fmt="{:.2f}")

    # mount read: cached bars with the cold value as a thin marker
    ax = axes[2][1]
    rd = [t for t in tools if t.get("mountRead")]
    names = [t["label"] for t in rd]
    cached = [med(t["mountRead"]["cached"]) or 0 for t in rd]
    cold = [med(t["mountRead"]["cold"]) or 0 for t in rd]
    if rd:
        y = list(range(len(rd)))
        h = 0.38
        ax.barh([i - h / 2 for i in y], cached, h, color=[COLORS.get(t["id"], "#999") for t in rd], edgecolor="#333", linewidth=0.5, label="cached")
        ax.barh([i + h / 2 for i in y], cold, h, color=[COLORS.get(t["id"], "#999") for t in rd], edgecolor="#333", linewidth=0.5, hatch="///", alpha=0.55, label="cold (page cache dropped)")
        top = max(cached + cold) or 1
        for i in y:
            ax.text(cached[i] + top * 0.02, i - h / 2, f"{cached[i]:.0f}", va="center", fontsize=8)
            ax.text(cold[i] + top * 0.02, i + h / 2, f"{cold[i]:.0f}", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.25)
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=9)
        ax.invert_yaxis()
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor="#aaa", edgecolor="#333", label="cached"),
                           Patch(facecolor="#aaa", edgecolor="#333", hatch="///", alpha=0.55, label="cold (page cache dropped)")],
                  fontsize=8, loc="lower right")
        ax.grid(axis="x", color="#eee")
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=8)
    ax.set_title("Mount sequential read, MB/s\n(higher is better →)", fontsize=10)

    stat_panel(axes[2][2], "Mount write, compressible data, MB/s\n(until durable)", lambda t: (t.get("mountWrite") or {}).get("durable"), better="higher")
    for lbl in axes[2][1].get_yticklabels():
        if lbl.get_text() == "sinki":
            lbl.set_fontweight("bold")

    ds = res["dataset"]
    fig.suptitle(
        f"sinki vs restic, Borg, gocryptfs, rclone crypt — {res['size']} dataset ({ds['files']} files), "
        f"{res['machine']['nproc']} cores, load {res['loadBefore'].split()[0]} → {res['loadAfter'].split()[0]}, "
        f"medians of {res['rounds']} rounds where short",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
