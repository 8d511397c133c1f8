"""Tests of the CDK app: template assertions, cdk-nag and cfn-lint on the synthesized stack."""
