"""Questions and answers (问题解答, KB-8): staff ask, knowledge administrators answer and pick FAQs."""
