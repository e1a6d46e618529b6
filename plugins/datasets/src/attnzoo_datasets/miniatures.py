"""Generated miniatures of the public CTR files, in their exact formats, for tests and demos.

Each writer makes a small folder that the matching recipe reads like the real data, with a
learnable click signal (users like items whose id parity matches theirs) and the real files'
quirks (ties in time, missing metadata, ``NULL`` values, a header with a trailing space).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OCCUPATIONS = ["technician", "writer", "student", "other"]
GENRES = ["Action", "Comedy", "Drama", "Children's"]
#: a midnight in UTC+8, three days after 2017-05-02 (the real Taobao sample starts 2017-05-06)
TAOBAO_START = 1494000000 - 8 * 3600 + 3 * 86400


def write_movielens_atomic(
    folder: Path, n_users: int = 30, n_items: int = 40, seed: int = 0, events: int = 12
) -> Path:
    """RecBole's atomic files: every user rates items at increasing times, with ties."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for u in range(1, n_users + 1):
        t = 880000000 + int(rng.integers(0, 10**6))
        for it in rng.choice(np.arange(1, n_items + 1), size=events, replace=False):
            t += int(rng.integers(0, 3)) * 3600  # 0: the same time as the one before
            # users like items whose id shares their parity: a learnable signal
            liked = (it % 2 == u % 2) == (rng.random() < 0.85)
            lines.append(
                f"{u}\t{it}\t{int(rng.integers(4, 6) if liked else rng.integers(1, 4))}\t{t}"
            )
    (folder / "ml-100k.inter").write_text("\n".join(lines) + "\n")
    users = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    users += [
        f"{u}\t{20 + u % 30}\t{'MF'[u % 2]}\t{OCCUPATIONS[u % 4]}\t0{u:04d}"
        for u in range(1, n_users + 1)
    ]
    (folder / "ml-100k.user").write_text("\n".join(users) + "\n")
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    items += [
        f"{i}\tMovie {i}\t{1980 + i % 20}\t{GENRES[i % 4]} {GENRES[(i + 1) % 4]}"
        for i in range(1, n_items)  # the last item has no metadata
    ]
    (folder / "ml-100k.item").write_text("\n".join(items) + "\n")
    return folder


def write_movielens_grouplens(folder: Path) -> Path:
    """GroupLens' u.data, u.user and u.item (Latin-1) for three ratings."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("1\t10\t5\t100\n1\t11\t2\t50\n2\t10\t4\t70\n")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    flags = ["0"] * 19
    flags[1] = flags[5] = "1"  # Action, Comedy
    (folder / "u.item").write_bytes(
        ("10|Caf\xe9 (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n").encode("latin-1")
        + ("11|Other (1994)|||http://y|" + "|".join(["0"] * 19) + "\n").encode("latin-1")
    )
    return folder


def write_taobao(
    folder: Path, n_users: int = 40, n_ads: int = 30, n: int = 1600, seed: int = 0
) -> Path:
    """raw_sample.csv, ad_feature.csv and user_profile.csv over 8 days (UTC+8); the last ad has
    no features and the last users no profile."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user,time_stamp,adgroup_id,pid,nonclk,clk"]
    for _ in range(n):
        u, a = int(rng.integers(1, n_users + 1)), int(rng.integers(1, n_ads + 1))
        t = TAOBAO_START + int(rng.integers(0, 8 * 86400)) // 60 * 60  # minutes: ties happen
        clk = int(((a % 6) % 2 == u % 2) == (rng.random() < 0.8))
        lines.append(f"{u},{t},{a},430548_1007,{1 - clk},{clk}")
    (folder / "raw_sample.csv").write_text("\n".join(lines) + "\n")
    ads = ["adgroup_id,cate_id,campaign_id,customer,brand,price"]
    ads += [
        f"{a},{a % 6 + 1},{100 + a},{200 + a // 2},{'NULL' if a % 5 == 0 else 300 + a},{a * 1.5}"
        for a in range(1, n_ads)  # the last ad has no features
    ]
    (folder / "ad_feature.csv").write_text("\n".join(ads) + "\n")
    users = [
        "userid,cms_segid,cms_group_id,final_gender_code,age_level,pvalue_level,shopping_level,"
        "occupation,new_user_class_level "  # the public file's header ends with a space
    ]
    users += [
        f"{u},0,{u % 12},{u % 2 + 1},{u % 7},{'' if u % 4 == 0 else u % 3 + 1},3,0,{u % 4 + 1}"
        for u in range(1, n_users - 4)  # the last users have no profile
    ]
    (folder / "user_profile.csv").write_text("\n".join(users) + "\n")
    return folder
