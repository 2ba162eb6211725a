"""House-style profiles of the notice (通报样式): named bundles of settings.

A profile gives every house-style setting a value; a setting whose value in 基本信息 differs from the
toolkit's default overrides the profile's value for that ledger. ``zhenggai notice --profile NAME`` chooses the profile instead of
基本信息's 通报样式. Pure: settings in, settings out.
"""

from __future__ import annotations

import dataclasses

from toolkit.core.model import Settings
from toolkit.core.schema import (
    PROFILE_FLAT,
    PROFILE_REFERENCE,
    PROFILE_STATS_FIRST,
    STATS_ABSENT,
    STATS_BEFORE_SECTION2,
    STATS_IN_INTRO,
    STATS_IN_SECTION1,
)
from toolkit.notice.errors import NoticeDataError

# The reference notice (清远市公路事务中心, 2025): no statistics, 一、→（一）category→1.problem→一是.
# 统计先行: statistics in the opening paragraph, problems and measures counted, headings quote the
#   feedback (关于“…”问题的整改情况), 整改落实情况： before the measures, 予以通报, 问责与成效 counted.
# 简明层级: no category level (problems at （一）), statistics inside section 一, 问责与成效 counted.
PROFILES: dict[str, dict[str, object]] = {
    PROFILE_REFERENCE: {
        "notice_stats_position": STATS_ABSENT,
        "notice_count_measures": False,
        "notice_levels": 2,
        "notice_problem_heading": "{title}",
        "notice_quote_finding": False,
        "notice_measures_label": "",
        "notice_publish_verb": "予以公布",
        "notice_accountability": False,
    },
    PROFILE_STATS_FIRST: {
        "notice_stats_position": STATS_IN_INTRO,
        "notice_count_measures": True,
        "notice_levels": 2,
        "notice_problem_heading": "关于“{title}”问题的整改情况",
        "notice_quote_finding": False,
        "notice_measures_label": "整改落实情况：",
        "notice_publish_verb": "予以通报",
        "notice_accountability": True,
    },
    PROFILE_FLAT: {
        "notice_stats_position": STATS_IN_SECTION1,
        "notice_count_measures": False,
        "notice_levels": 1,
        "notice_problem_heading": "{title}",
        "notice_quote_finding": False,
        "notice_measures_label": "",
        "notice_publish_verb": "予以公布",
        "notice_accountability": True,
    },
}
# Names accepted on the command line besides the Chinese ones.
PROFILE_ALIASES = {"reference": PROFILE_REFERENCE, "stats-first": PROFILE_STATS_FIRST, "flat": PROFILE_FLAT}


def profile_name(name: str) -> str:
    """The Chinese profile name for ``name`` (Chinese or its English alias); NoticeDataError otherwise."""
    key = (name or "").strip()
    key = PROFILE_ALIASES.get(key.lower(), key)
    if key not in PROFILES:
        known = "、".join(f"{k}（{a}）" for a, k in PROFILE_ALIASES.items())
        raise NoticeDataError(f"通报样式“{name}”不存在，可选：{known}。")
    return key


def apply_profile(settings: Settings, profile: str | None = None) -> Settings:
    """A copy of ``settings`` with the profile's values for every setting 基本信息 leaves at its default.

    ``profile`` (from ``--profile``) replaces 基本信息's 通报样式. The older switch 通报显示统计句=是, when
    统计句位置 is not given, puts the sentence at the start of section 二 (where it always was).
    """
    name = profile_name(profile if profile else settings.notice_profile)
    defaults = Settings()
    # Given: a value other than the toolkit's default. New ledgers carry every setting at its default
    # (the builder writes them all into 基本信息), so a default value cannot tell "chosen" from "left".
    given = {f.name for f in dataclasses.fields(Settings) if getattr(settings, f.name) != getattr(defaults, f.name)}
    changes: dict[str, object] = {"notice_profile": name}
    for key, value in PROFILES[name].items():
        if key not in given:
            changes[key] = value
    if "notice_stats_position" not in given and "notice_stats_sentence" in given:
        changes["notice_stats_position"] = STATS_BEFORE_SECTION2 if settings.notice_stats_sentence else STATS_ABSENT
    return dataclasses.replace(settings, **changes)
