"""AWS Step Functions deployer for flowkit."""
