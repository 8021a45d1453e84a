"""Call center: CTI events, agents, queues, ACD, IVR, recordings, outbound, wallboard."""
