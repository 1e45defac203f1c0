"""A region's assessment campaign (`conformance campaign init|run|collect|report`): many
institutions assessed into one campaign folder, one league table, the problem and task lists,
the follow-up review, region-wide data quality. ``config`` reads campaign.yaml, ``runner``
runs and collects, ``report`` builds the typed ``CampaignReport``, ``views`` writes it."""
