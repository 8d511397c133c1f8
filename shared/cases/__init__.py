"""Cases: promises to pay, disputes and payment plans, recorded and judged with their audit."""
