// Production: zone-redundant, longer retention, more headroom. Replace the Power BI
// placeholders with the production workspace, dataset and service principal.
using '../main.bicep'

param environmentName = 'prod'
param cosmosDefaultTtlSeconds = -1 // TTL on; documents expire by their own ttl
param insightTtlSeconds = 63072000 // 2 years
param cosmosMaxThroughput = 4000
param zoneRedundant = true
param dataStorageSku = 'Standard_ZRS'
param deleteRetentionDays = 30
param duplicateDetectionWindow = 'P2D'
param functionMaximumInstanceCount = 40
param logRetentionDays = 90
param powerBiGroupId = '00000000-0000-0000-0000-000000000000'
param powerBiDatasetId = '00000000-0000-0000-0000-000000000000'
param powerBiClientId = '00000000-0000-0000-0000-000000000000'
param dashboardAudience = 'api://edgeloop-prod-dashboard'
param dashboardClientId = '00000000-0000-0000-0000-000000000000'
// Each site's public key as it is onboarded (docs/deployment.md, "Site signatures"):
// { 'plant-a': [ '<base64 public key>' ] }; {} trusts no site yet.
param sitePublicKeys = {}
param tags = {
  costCenter: 'edgeloop-prod'
}
