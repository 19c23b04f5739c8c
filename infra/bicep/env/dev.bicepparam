// Development: small, cheap, short retention. Power BI ids are placeholders until the
// workspace and dataset exist (docs/deployment.md: "Cloud").
using '../main.bicep'

param environmentName = 'dev'
param cosmosDefaultTtlSeconds = -1 // TTL on; documents expire by their own ttl
param insightTtlSeconds = 2592000 // 30 days
param cosmosMaxThroughput = 1000
param zoneRedundant = false
param dataStorageSku = 'Standard_LRS'
param deleteRetentionDays = 7
param functionMaximumInstanceCount = 10
param logRetentionDays = 30
param powerBiGroupId = '00000000-0000-0000-0000-000000000000'
param powerBiDatasetId = '00000000-0000-0000-0000-000000000000'
param powerBiClientId = '00000000-0000-0000-0000-000000000000'
param dashboardAudience = 'api://edgeloop-dev-dashboard'
param dashboardClientId = '00000000-0000-0000-0000-000000000000'
// Each site's public key as it is onboarded (docs/deployment.md, "Site signatures"):
// { 'plant-a': [ '<base64 public key>' ] }; {} trusts no site yet.
param sitePublicKeys = {}
param tags = {
  costCenter: 'edgeloop-dev'
}
