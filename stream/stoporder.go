package stream

// upstreamInputs returns, for each input binding on the in-process binder,
// the input bindings to stop before it at shutdown: those of the
// functions whose output is an in-process destination it consumes.
//
// Why: on the in-process binder a send waits for room in the queue of each
// group of its destination, and a stopped consumer no longer drains its
// group's queue. Stopped together, a downstream consumer could stop first
// and leave its full queue to the function upstream, whose send in flight
// then waited out the whole shutdown timeout ("stream app shutdown
// incomplete"). Stopped upstream first, the downstream consumer still takes
// what that send brings. Wire brokers store a send whatever the consumers
// do: their inputs stop all at once. Bindings that feed each other in a
// cycle stop together (no order can serve both).
func (a *App) upstreamInputs() map[*Binding][]*Binding {
	feeds := map[*Binding][]*Binding{} // input binding → downstream input bindings
	for _, rt := range a.funcs {
		if rt.in == nil || rt.out == nil || rt.in.binderType != DefaultBinderType || rt.out.binderType != DefaultBinderType {
			continue
		}
		for _, b := range a.bindings {
			if b.input && b != rt.in && b.binderType == DefaultBinderType && consumes(b, rt.out.destination) {
				feeds[rt.in] = append(feeds[rt.in], b)
			}
		}
	}
	if len(feeds) == 0 {
		return nil
	}
	reaches := func(from, to *Binding) bool {
		seen := map[*Binding]bool{}
		stack := []*Binding{from}
		for len(stack) > 0 {
			b := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range feeds[b] {
				if d == to {
					return true
				}
				if !seen[d] {
					seen[d] = true
					stack = append(stack, d)
				}
			}
		}
		return false
	}
	ups := map[*Binding][]*Binding{}
	for up, downs := range feeds {
		for _, d := range downs {
			if !reaches(d, up) { // not in a cycle with it
				ups[d] = append(ups[d], up)
			}
		}
	}
	return ups
}

// consumes reports whether input binding b consumes destination dest.
func consumes(b *Binding, dest string) bool {
	for _, d := range Destinations(b.destination) {
		if d == dest {
			return true
		}
	}
	return false
}
