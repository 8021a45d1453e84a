"""Contact records (接触记录, CON-2): every interaction with a customer on every channel."""
