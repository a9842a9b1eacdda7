package socotra

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// On-demand fetches and writes for the views: each calls the API and
// writes what it learnt to the cache before returning, so the view re-reads
// the cache (online and offline stay one code path).

// CacheRequestEvents fetches every event of a request and caches them. It
// returns how many events the request has.
func CacheRequestEvents(ctx context.Context, st *store.Store, c *Client, requestID string) (int, error) {
	evs, err := c.RequestEvents(ctx, requestID)
	if err != nil {
		return 0, err
	}
	rows := make([]store.SocotraEventRow, len(evs))
	for i := range evs {
		rows[i] = EventRow(&evs[i])
	}
	if _, err := st.WriteSocotraEvents(ctx, rows, nil); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// CachePolicySchedules fetches a policy's scheduled events and makes them
// the cached ones. It returns how many there are.
func CachePolicySchedules(ctx context.Context, st *store.Store, c *Client, policyLocator string) (int, error) {
	recs, err := c.PolicySchedules(ctx, policyLocator)
	if err != nil {
		return 0, err
	}
	rows := make([]store.SocotraScheduledRow, len(recs))
	for i := range recs {
		rows[i] = ScheduledRow(&recs[i])
		if rows[i].PolicyLocator == "" {
			rows[i].PolicyLocator = policyLocator
		}
		if rows[i].PolicyLocator != policyLocator {
			return 0, fmt.Errorf("socotra policy_schedules: the answer for %q holds an event of policy %q", policyLocator, rows[i].PolicyLocator)
		}
	}
	if _, _, err := st.ReplaceSocotraScheduled(ctx, policyLocator, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// Outcomes of ResumeFailed and DeleteFailed.
const (
	Done    = "done"
	Already = "already gone" // the API no longer had it (404): the cache drops it too
)

// ResumeFailed resumes a failed job upstream and, once the API accepted
// (or no longer knows the job), removes it from the cached failed list.
func ResumeFailed(ctx context.Context, st *store.Store, c *Client, group, name string) (string, error) {
	return settleFailed(ctx, st, group, name, c.ResumeFailed(ctx, wire.FailedJobRequest{TriggerName: name, TriggerGroup: group}))
}

// DeleteFailed deletes a failed job upstream and from the cache.
func DeleteFailed(ctx context.Context, st *store.Store, c *Client, group, name string) (string, error) {
	return settleFailed(ctx, st, group, name, c.DeleteFailed(ctx, wire.FailedJobRequest{TriggerName: name, TriggerGroup: group}))
}

func settleFailed(ctx context.Context, st *store.Store, group, name string, callErr error) (string, error) {
	outcome := Done
	switch {
	case errors.Is(callErr, ErrNotFound):
		outcome = Already
	case callErr != nil:
		return "", callErr
	}
	if _, err := st.DeleteSocotraFailed(ctx, group, name); err != nil {
		return "", fmt.Errorf("the API took it, but the cache kept it: %w", err)
	}
	return outcome, nil
}
