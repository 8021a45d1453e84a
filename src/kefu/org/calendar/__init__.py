"""Business calendar: which days are workdays and how much working time lies between instants."""
