"""campaign.json — `conformance campaign report --format json`."""

from __future__ import annotations

from ..campaign import CampaignReport, CampaignState
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[CampaignReport] = Codec(
    name="campaign", filename="campaign.json", type=CampaignReport,
    schema_version=SCHEMA_VERSION, title="conformance campaign.json",
    description="A region's assessment campaign (`conformance campaign report`): the league "
                "table, per institution its problem list (问题清单) and task list (任务清单) with "
                "owners and deadlines, the follow-up review of the previous campaign's tasks, the "
                "distribution of levels by district, and data quality per institution and "
                "district.",
    producer="conformance campaign report CAMPAIGN_DIR --format json")

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps

STATE_CODEC: Codec[CampaignState] = Codec(
    name="campaign-state", filename="state.json", type=CampaignState, schema_version=1,
    title="conformance campaign state.json",
    description="Where every institution of a campaign stands (`conformance campaign run` "
                "and `collect`): assessed, failed, unreachable or refused, with the reason.",
    producer="conformance campaign run CAMPAIGN_DIR")
