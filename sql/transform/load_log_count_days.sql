-- load_log, days already listed: their plays change by what this load staged minus what it
-- replaced (stage_days), and the day is marked as loaded now.
UPDATE load_log
SET
    nextsong_events = load_log.nextsong_events + d.staged - d.replaced,
    loaded_at = GETDATE()
FROM stage_days AS d
WHERE load_log.day = d.day;
