package kafka

import "hash/fnv"

// LaneOf is the lane, of lanes, that the messages of key go to under
// ordering key: dispatch.Pool's route hash (FNV-1a) of laneRoute.
func LaneOf(key string, lanes int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(laneRoute([]byte(key))))
	return int(h.Sum32() % uint32(lanes))
}
